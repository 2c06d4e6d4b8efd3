"""What the HTTP benchmarks share: ``matcher serve`` on a free loopback port, need texts, percentiles."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

#: short, realistic needs (20 texts), made unique per call by the benchmark (never a vector-cache hit)
SHORT_NEEDS = [
    f"{base} {detail}"
    for base in (
        "plateforme de téléconsultation",
        "rénovation énergétique des bâtiments",
        "cybersécurité des systèmes",
        "outil de traduction",
        "logistique hospitalière",
    )
    for detail in ("pour nos centres de santé", "dans les écoles de la ville", "des préfectures", "des services déconcentrés")
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(cli: list[str], env: dict[str, str], timeout_s: float = 300) -> Iterator[str]:
    """``matcher serve`` in a child process on a free loopback port; yields its base URL once ``/health`` answers."""
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout_s
        while True:
            try:
                urllib.request.urlopen(base + "/health", timeout=2).read()
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def percentiles(seconds: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 in milliseconds."""
    a = np.asarray(seconds) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 95)), float(np.percentile(a, 99))
