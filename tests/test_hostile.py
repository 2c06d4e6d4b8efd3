"""Hostile and broken input: each gets a clear 4xx or a per-row error, and nothing stored is lost or altered."""

from __future__ import annotations

import json

import pytest

from matcher.settings import MAX_BATCH, MAX_UPLOAD_BYTES

SQL = "'; DROP TABLE needs; -- \" OR 1=1 /* %_ \\"


def _h(tokens: dict[str, str], who: str = "staff") -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def _snapshot(client, tokens) -> dict:
    """Everything a hostile request must leave alone: counts and one need of each buyer."""
    h = _h(tokens)
    buyers = client.get("/buyers", headers=h).json()["data"]
    health = client.get("/health").json()
    return {
        "health": (health["suppliers"], health["evidence"]),
        "demo-n03": client.get("/needs/demo-n03", headers=h).json(),
        "buyers": {b["buyer_id"] for b in buyers},
    }


@pytest.fixture
def unchanged(keyed_app):
    client, tokens = keyed_app
    before = _snapshot(client, tokens)
    yield client, tokens
    after = _snapshot(client, tokens)
    assert after["health"] == before["health"] and after["demo-n03"] == before["demo-n03"] and before["buyers"] <= after["buyers"]


def test_sql_metacharacters_in_every_field_are_stored_verbatim(unchanged) -> None:
    client, tokens = unchanged
    need = {
        "need_id": "sql-1",
        "buyer_id": f"b{SQL}",
        "buyer_name": SQL,
        "title": SQL,
        "description": SQL,
        "segment": "numerique",
        "region": SQL,
    }
    created = client.post("/needs", json=need, headers=_h(tokens))
    assert created.status_code == 201, created.text
    stored = client.get("/needs/sql-1", headers=_h(tokens)).json()
    assert stored["title"] == SQL.strip() and stored["buyer_id"] == f"b{SQL}".strip() and stored["region"] == SQL.strip()
    assert client.post("/match", json={"text": SQL, "filters": {"regions": [SQL], "tags": [SQL]}}, headers=_h(tokens)).status_code == 200
    assert client.get("/needs/sql-1/matches", params={"regions": SQL}, headers=_h(tokens)).status_code == 200
    assert (
        client.post(
            "/feedback", json={"need_id": "sql-1", "supplier_id": "demo-s001", "verdict": "relevant", "query_text": SQL}, headers=_h(tokens)
        ).status_code
        == 201
    )
    assert client.get(f"/needs/{SQL.replace('/', '')}", headers=_h(tokens)).status_code == 404
    assert client.post("/admin/keys", json={"name": SQL, "role": "staff"}, headers=_h(tokens, "admin")).status_code == 201


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/match", {"text": "x" * 5001}),
        ("post", "/match", {"text": "logiciel", "k": 10**9}),
        ("post", "/match/batch", {"queries": [{"text": "logiciel"}] * (MAX_BATCH + 1)}),
        ("post", "/match/batch", {"queries": []}),
        ("get", "/needs/demo-n01/matches?k=1000000000", None),
        ("get", "/buyers/min-sante/shortlist?k=101", None),
        ("get", "/shortlists?k=0", None),
        ("get", "/shortlists?cap=-1", None),
        ("get", "/suppliers/demo-s001/needs?k=99999", None),
        ("post", "/needs", {"title": "t" * 501, "buyer_id": "b"}),
        ("post", "/needs", {"title": "ok", "buyer_id": "b", "need_id": "../../etc/passwd"}),
        ("post", "/feedback", {"supplier_id": "demo-s001", "verdict": "relevant", "query_text": "x" * 5001}),
        ("post", "/admin/promote", {"benchmark": "../../etc"}),
        ("post", "/admin/promote", {"benchmark": "/etc/passwd"}),
        ("post", "/admin/promote", {"benchmark": "a/../../b"}),
        ("post", "/needs/import?format=../../etc/passwd", b"x"),
    ],
)
def test_oversized_huge_or_traversing_input_is_refused(unchanged, method: str, path: str, body) -> None:
    client, tokens = unchanged
    headers = _h(tokens, "admin")
    resp = (
        client.request(method, path, content=body, headers=headers)
        if isinstance(body, bytes)
        else client.request(method, path, json=body, headers=headers)
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"]


def test_unknown_ids_get_404(unchanged) -> None:
    client, tokens = unchanged
    h = _h(tokens, "admin")
    for path in (
        "/needs/nope/matches",
        "/needs/nope",
        "/buyers/nope/needs",
        "/buyers/nope/shortlist",
        "/suppliers/nope/needs",
        "/buyers/nope/shortlist/export",
    ):
        assert client.get(path, headers=h).status_code == 404, path
    assert client.post("/feedback", json={"supplier_id": "nope", "verdict": "relevant", "query_text": "x"}, headers=h).status_code == 404
    assert client.delete("/needs/nope", headers=h).status_code == 404


def test_broken_files_get_per_row_errors_and_keep_good_rows(unchanged) -> None:
    client, tokens = unchanged
    good = json.dumps({"need_id": "ok-ctrl", "buyer_id": "min-education", "title": "Cartographie\x00 des\x07 compétences\x1b numériques"})
    lines = [good.encode(), b'{"need_id": "bad-utf8", "buyer_id": "b", "title": "caf\xe9"}', b"{not json", b"[1, 2]"]
    report = client.post("/needs/import?format=jsonl", content=b"\n".join(lines) + b"\n", headers=_h(tokens)).json()
    assert report["inserted"] + report["updated"] == 1 and report["rejected"] == 3
    assert any("ligne 2" in e and "UTF-8" in e for e in report["errors"])
    assert any("ligne 3" in e and "JSON" in e for e in report["errors"])
    assert client.get("/needs/ok-ctrl", headers=_h(tokens)).json()["title"] == "Cartographie des compétences numériques"


def test_excel_csv_is_read_and_a_broken_utf8_one_refused_with_the_line(unchanged) -> None:
    client, tokens = unchanged
    excel = "need_id;buyer_id;title\r\nlat-1;min-education;Numérique éducatif\r\n".encode("cp1252")  # Excel, French Windows
    resp = client.post("/needs/import?format=csv", content=excel, headers=_h(tokens))
    assert resp.status_code == 200, resp.text
    assert client.get("/needs/lat-1", headers=_h(tokens)).json()["title"] == "Numérique éducatif"
    broken = "need_id,buyer_id,title\nlat-2,min-education,Numérique\n".encode() + b"lat-3,min-education,caf\xe9\n"
    resp = client.post("/needs/import?format=csv", content=broken, headers=_h(tokens))
    assert resp.status_code == 422 and "3" in resp.json()["detail"] and "UTF-8" in resp.json()["detail"]
    assert client.get("/needs/lat-2", headers=_h(tokens)).status_code == 404  # nothing of a refused file is stored


def test_oversized_upload_and_malformed_json(unchanged) -> None:
    client, tokens = unchanged
    resp = client.post("/needs/import?format=jsonl", content=b" " * (MAX_UPLOAD_BYTES + 1), headers=_h(tokens))
    assert resp.status_code == 413 and "file" in resp.json()["detail"]
    resp = client.post("/match", content=b"\xff\xfe{", headers={**_h(tokens), "Content-Type": "application/json"})
    assert resp.status_code in (400, 422) and "body" in resp.json()["detail"]


def test_unusual_but_valid_text_is_answered(unchanged) -> None:
    client, tokens = unchanged
    for text in ("🚀 plateforme ☁️ souveraine", "منصة سحابية", "télé\u200bconsultation", "<script>alert(1)</script>", "=SUM(A1:A9)"):
        resp = client.post("/match", json={"text": text, "k": 3}, headers=_h(tokens))
        assert resp.status_code == 200, text


#: English words of Pydantic's or FastAPI's own messages that must not reach a person
_ENGLISH = ("Field required", "String should", "Input should", "Value error", "should have", "is not one of", "not a valid")


def test_errors_speak_french_with_stable_codes(unchanged) -> None:
    """Each error answer: a machine ``code``, a French ``detail``, and per invalid field its code and French message."""
    client, tokens = unchanged
    h = _h(tokens)
    cases = [
        ("post", "/match", {"text": "x" * 20001}, 422, "text", "string_too_long", "au plus"),
        ("post", "/match", {"text": "drones", "k": 0}, 422, "k", "greater_than_equal", "supérieur ou égal à 1"),
        ("post", "/match", {"text": "drones", "k": "dix"}, 422, "k", "int_parsing", "nombre entier"),
        ("post", "/match", {}, 422, "text", "missing", "obligatoire"),
        ("post", "/match", {"text": "drones", "cpv": ["abc"]}, 422, "cpv", "value_error", "code CPV"),
        ("post", "/match", {"text": "drones", "filters": {"sizes": ["géante"]}}, 422, "filters.sizes", "value_error", "valeurs permises"),
        ("post", "/match", {"text": "   "}, 422, "text", "value_error", "espaces"),
        ("post", "/match/batch", {"queries": []}, 422, "queries", "too_short", "au moins 1 élément"),
        ("post", "/feedback", {"supplier_id": "demo-s001", "verdict": "bof"}, 422, "verdict", "value_error", "avis permis"),
    ]
    for method, path, body, status, field, code, words in cases:
        resp = getattr(client, method)(path, json=body, headers=h)
        answer = resp.json()
        assert resp.status_code == status and answer["code"] == "invalid_input", (path, body, answer)
        (error,) = [e for e in answer["errors"] if e["field"] == field]
        assert error["code"] == code and words in error["message"] and words in answer["detail"], (body, answer)
        assert not any(w in answer["detail"] for w in _ENGLISH), answer["detail"]
    assert client.get("/needs/nope", headers=h).json()["code"] == "not_found"
    assert client.get("/needs/nope").json()["code"] == "unauthenticated"
    assert client.post("/match", content=b"{oops", headers={**h, "Content-Type": "application/json"}).json()["code"] == "invalid_body"
