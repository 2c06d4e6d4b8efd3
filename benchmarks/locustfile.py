"""Locust users of the service (run by benchmarks/load_test.py; the key comes from MATCHER_LOAD_KEY).

A buyer-like mix: free-text matches (the common case), recorded-need matches, a ministry's
shortlist, and the health check.
"""

from __future__ import annotations

import os
import random

from locust import HttpUser, between, task

NEEDS = ["demo-n01", "demo-n05", "demo-n08", "demo-n12", "demo-n20"]
TEXTS = [
    "plateforme de téléconsultation pour nos centres de santé",
    "rénovation énergétique des écoles et suivi des consommations",
    "outil de traduction automatique de documents techniques",
    "cybersécurité et détection d'intrusion pour les préfectures",
    "application mobile de signalement des incidents de voirie",
    "logiciel de planification des gardes hospitalières",
]


class Buyer(HttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {os.environ['MATCHER_LOAD_KEY']}"

    @task(6)
    def match(self) -> None:
        self.client.post("/match", json={"text": random.choice(TEXTS), "k": 10}, name="/match")

    @task(2)
    def need(self) -> None:
        self.client.get(f"/needs/{random.choice(NEEDS)}/matches?k=10", name="/needs/{id}/matches")

    @task(1)
    def shortlist(self) -> None:
        self.client.get("/buyers/min-sante/shortlist?k=10", name="/buyers/{id}/shortlist")

    @task(1)
    def health(self) -> None:
        self.client.get("/health", name="/health")
