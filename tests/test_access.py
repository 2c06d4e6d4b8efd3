"""Role rules of every route: no key, buyer of organisation A (on A's and on B's records), staff, admin.

A buyer key of organisation A gets 404 (records of B) or 403 (routes of staff / admin) on
everything of organisation B; the matrix below covers every route of the app, and a test
checks that no route escapes it.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from matcher.settings import Settings
from service.app import ConfigurationError, create_app
from service.auth import PUBLIC_PATHS

A, B = "min-armees", "min-sante"  # BUYER_A, BUYER_B of conftest

A_NEED, B_NEED = "demo-n01", "demo-n05"
SUPPLIER = "demo-s001"
NEW_NEED = {"title": "Outil de traduction automatique de documents techniques", "segment": "numerique"}
FEEDBACK = {"supplier_id": SUPPLIER, "verdict": "relevant"}
NEEDS_FILE = '{"need_id": "imp-1", "buyer_id": "min-armees", "title": "Drones de surveillance de sites"}\n'.encode()

# (method, path, json body or raw bytes, expected status per caller)
# callers: none, own (buyer of A on A's records), other (buyer of A on B's records), staff, admin
MATRIX: list[tuple[str, str, object, dict[str, int]]] = [
    ("get", "/me", None, {"none": 401, "own": 200, "staff": 200, "admin": 200}),
    ("post", "/match", {"text": "téléconsultation"}, {"none": 401, "own": 200, "staff": 200, "admin": 200}),
    ("post", "/match", {"text": "téléconsultation", "buyer_id": B}, {"other": 404, "staff": 200}),
    (
        "post",
        "/match/batch",
        {"queries": [{"text": "drones"}, {"text": "cloud", "k": 2}]},
        {"none": 401, "own": 200, "staff": 200, "admin": 200},
    ),
    ("post", "/match/batch", {"queries": [{"text": "drones"}, {"text": "cloud", "buyer_id": B}]}, {"other": 404, "staff": 200}),
    ("get", f"/needs/{A_NEED}/matches", None, {"none": 401, "own": 200, "staff": 200, "admin": 200}),
    ("get", f"/needs/{B_NEED}/matches", None, {"other": 404, "staff": 200}),
    ("get", f"/suppliers/{SUPPLIER}/needs", None, {"none": 401, "own": 403, "staff": 200, "admin": 200}),
    ("get", "/suppliers?q=demo", None, {"none": 401, "own": 403, "staff": 200, "admin": 200}),
    ("get", "/buyers", None, {"none": 401, "own": 200, "staff": 200, "admin": 200}),
    ("get", f"/buyers/{A}/needs", None, {"none": 401, "own": 200, "staff": 200}),
    ("get", f"/buyers/{B}/needs", None, {"other": 404, "staff": 200}),
    ("get", f"/needs/{A_NEED}", None, {"none": 401, "own": 200, "staff": 200}),
    ("get", f"/needs/{B_NEED}", None, {"other": 404, "staff": 200}),
    ("post", "/needs", NEW_NEED, {"none": 401, "own": 201}),
    ("post", "/needs", {**NEW_NEED, "buyer_id": B}, {"other": 404, "staff": 201, "admin": 201}),
    ("put", f"/needs/{A_NEED}", {**NEW_NEED, "buyer_id": A}, {"none": 401, "own": 200, "staff": 200}),
    ("put", f"/needs/{B_NEED}", {**NEW_NEED, "buyer_id": B}, {"other": 404, "staff": 200}),
    ("delete", f"/needs/{B_NEED}", None, {"none": 401, "other": 404}),
    ("post", "/needs/import?format=jsonl", NEEDS_FILE, {"none": 401, "own": 403, "staff": 200, "admin": 200}),
    ("get", f"/buyers/{A}/shortlist", None, {"none": 401, "own": 200, "staff": 200}),
    ("get", f"/buyers/{B}/shortlist", None, {"other": 404, "staff": 200}),
    ("get", f"/buyers/{A}/shortlist/export?format=csv", None, {"none": 401, "own": 403, "staff": 200, "admin": 200}),
    ("get", f"/buyers/{B}/shortlist/export?format=xlsx", None, {"other": 403, "staff": 200}),
    ("get", "/shortlists", None, {"none": 401, "own": 403, "staff": 200, "admin": 200}),
    ("get", "/shortlists/export?format=csv", None, {"none": 401, "own": 403, "staff": 200}),
    ("get", "/stats", None, {"none": 401, "own": 403, "staff": 200, "admin": 200}),
    # the barometer: the mission's figures over every buyer's awards — staff only
    ("get", "/barometer", None, {"none": 401, "own": 403, "staff": 200, "admin": 200}),
    ("get", "/barometer?by=ministry,year&state=true", None, {"own": 403, "staff": 200}),
    ("get", "/barometer?by=planete", None, {"staff": 422}),
    ("get", "/barometer/export?format=xlsx", None, {"none": 401, "own": 403, "staff": 200, "admin": 200}),
    # what the lists led to: staff see every organisation, a buyer its own (another's is not found)
    ("get", "/outcomes/funnel", None, {"none": 401, "own": 200, "staff": 200, "admin": 200}),
    ("get", f"/outcomes/funnel?buyer_id={A}", None, {"own": 200, "staff": 200}),
    ("get", f"/outcomes/funnel?buyer_id={B}", None, {"other": 404, "staff": 200}),
    ("get", "/outcomes", None, {"none": 401, "own": 200, "staff": 200}),
    ("get", f"/outcomes?buyer_id={B}", None, {"other": 404, "staff": 200}),
    ("post", "/feedback", {**FEEDBACK, "need_id": A_NEED}, {"none": 401, "own": 201, "staff": 201}),
    ("post", "/feedback", {**FEEDBACK, "need_id": B_NEED}, {"other": 404, "staff": 201}),
    ("post", "/feedback", {**FEEDBACK, "query_text": "drones", "buyer_id": B}, {"other": 404, "staff": 201}),
    ("get", "/feedback", None, {"none": 401, "own": 200, "staff": 200}),
    ("get", "/feedback/qrels.tsv", None, {"none": 401, "own": 403, "staff": 200, "admin": 200}),
    ("post", "/admin/keys", {"name": "x", "role": "staff"}, {"none": 401, "own": 403, "staff": 403, "admin": 201}),
    ("get", "/admin/keys", None, {"none": 401, "own": 403, "staff": 403, "admin": 200}),
    ("delete", "/admin/keys/nope", None, {"none": 401, "own": 403, "staff": 403, "admin": 404}),
    (
        "post",
        "/admin/suppliers/import?format=jsonl&reindex=false",
        b'{"supplier_id": "x1", "name": "X", "description": "Drones"}\n',
        {"none": 401, "own": 403, "staff": 403, "admin": 200},
    ),
    ("post", "/admin/reindex", None, {"none": 401, "own": 403, "staff": 403}),
    (
        "put",
        "/admin/suppliers/acc-1?reindex=false",
        {"name": "Acc", "description": "Drones"},
        {"none": 401, "own": 403, "staff": 403, "admin": 200},
    ),
    ("delete", "/admin/suppliers/acc-1?reindex=false", None, {"none": 401, "own": 403, "staff": 403, "admin": 200}),
    ("post", "/admin/promote", {"benchmark": "none-here"}, {"none": 401, "own": 403, "staff": 403, "admin": 404}),
    ("get", "/admin/audit", None, {"none": 401, "own": 403, "staff": 403, "admin": 200}),
    ("get", "/metrics", None, {"none": 401, "own": 403, "staff": 200, "admin": 200}),
    # the SIRET table of agents' sign-in: staff keep it; only an admin gives the admin role
    ("get", "/agents/organisations", None, {"none": 401, "own": 403, "staff": 200, "admin": 200}),
    (
        "put",
        "/agents/organisations/11000000000017",
        {"role": "buyer", "buyer_id": A, "label": "Armées"},
        {"none": 401, "own": 403, "staff": 200},
    ),
    ("put", "/agents/organisations/11000000000025", {"role": "admin"}, {"none": 401, "own": 403, "staff": 403, "admin": 200}),
    ("put", "/agents/organisations/123", {"role": "staff"}, {"staff": 422}),
    ("delete", "/agents/organisations/11000000000033", None, {"none": 401, "own": 403, "staff": 404}),
    # signing out goes through the one check (a session's CSRF token, or a key: nothing to end at a provider)
    ("post", "/deconnexion", None, {"none": 401, "own": 200, "staff": 200}),
    # the import templates hold no one's data: open to all, like the page itself
    ("get", "/modeles/besoins.xlsx", None, {"none": 200, "own": 200, "staff": 200}),
    ("get", "/modeles/fournisseurs.csv", None, {"none": 200}),
    ("get", "/modeles/inconnu.csv", None, {"none": 404}),
]


def _call(client: TestClient, method: str, path: str, body: object, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if isinstance(body, bytes):
        return client.request(method, path, content=body, headers=headers)
    return client.request(method, path, json=body, headers=headers)


CASES = [(m, p, b, who, status) for m, p, b, expected in MATRIX for who, status in expected.items()]


@pytest.mark.parametrize(("method", "path", "body", "who", "status"), CASES, ids=[f"{w}-{m}-{p}" for m, p, _, w, _ in CASES])
def test_role_rules(keyed_app, method: str, path: str, body: object, who: str, status: int) -> None:
    client, tokens = keyed_app
    resp = _call(client, method, path, body, None if who == "none" else tokens[who])
    assert resp.status_code == status, resp.text
    if status in (401, 403, 404):
        field = {401: "authorization", 403: "role"}.get(status)
        assert field is None or field in resp.text


def test_every_route_is_in_the_matrix(keyed_app) -> None:
    client, _ = keyed_app
    covered = {(m.upper(), p.split("?")[0]) for m, p, _, _ in MATRIX}
    operations = {(method.upper(), path) for path, ops in client.app.openapi()["paths"].items() for method in ops}
    # and the routes hidden from the API's description (/metrics), declared on the app itself
    # (those of the routers too: FastAPI ≥ 0.165 keeps an included router's routes inside it)
    operations |= {(method, r.path) for r in _api_routes(client.app.routes) for method in r.methods}
    assert len(operations) > 20 and ("GET", "/metrics") in operations
    for method, template in sorted(operations):
        if template not in PUBLIC_PATHS:
            assert any(m == method and _fits(template, p) for m, p in covered), f"{method} {template} has no role test"


def _api_routes(routes) -> list[APIRoute]:
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found.extend(_api_routes(inner.routes))
    return found


def _fits(template: str, path: str) -> bool:
    t, p = template.strip("/").split("/"), path.strip("/").split("/")
    return len(t) == len(p) and all(a == b or a.startswith("{") for a, b in zip(t, p))


def test_buyer_sees_only_its_organisation(keyed_app) -> None:
    client, tokens = keyed_app
    h = {"Authorization": f"Bearer {tokens['own']}"}
    assert [b["buyer_id"] for b in client.get("/buyers", headers=h).json()["data"]] == [A]
    client.post("/feedback", json={**FEEDBACK, "need_id": A_NEED}, headers=h)
    client.post("/feedback", json={**FEEDBACK, "need_id": B_NEED}, headers={"Authorization": f"Bearer {tokens['staff']}"})
    mine = client.get("/feedback", headers=h).json()["data"]
    assert mine and {f["buyer_id"] for f in mine} == {A}
    # a need recorded by the buyer key belongs to its organisation, whatever the body says
    created = client.post("/needs", json={**NEW_NEED, "need_id": "own-new"}, headers=h).json()
    assert created["buyer_id"] == A
    # a free-text match is made for its own organisation (same-buyer signal)
    assert client.post("/match", json={"text": "drones"}, headers=h).status_code == 200
    assert client.delete("/needs/own-new", headers=h).status_code == 204
    assert client.get("/needs/own-new", headers=h).status_code == 404


def test_b_records_are_untouched_by_a(keyed_app) -> None:
    client, tokens = keyed_app
    h = {"Authorization": f"Bearer {tokens['own']}"}
    before = client.get(f"/needs/{B_NEED}", headers={"Authorization": f"Bearer {tokens['staff']}"}).json()
    assert client.delete(f"/needs/{B_NEED}", headers=h).status_code == 404
    assert client.put(f"/needs/{B_NEED}", json={"title": "piraté", "buyer_id": B}, headers=h).status_code == 404
    after = client.get(f"/needs/{B_NEED}", headers={"Authorization": f"Bearer {tokens['staff']}"}).json()
    assert after == before


def test_keys_are_stored_hashed_and_revocable(keyed_app) -> None:
    client, tokens = keyed_app
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    created = client.post("/admin/keys", json={"name": "temporaire", "role": "buyer", "buyer_id": B}, headers=admin).json()
    token = created["token"]
    engine = client.app.state.served.engine.catalogue.engine
    with engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(sa.text("select * from api_keys"))]
    assert stored and not any(token in str(row) or token.split("_", 2)[2] in str(row) for row in stored)
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).json()["buyer_id"] == B
    assert client.get("/me", headers={"X-API-Key": token}).status_code == 200
    assert client.delete(f"/admin/keys/{created['key_id']}", headers=admin).status_code == 204
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/me", headers={"Authorization": f"Bearer {token[:-2]}xx"}).status_code == 401
    bad = client.post("/admin/keys", json={"name": "sans org", "role": "buyer"}, headers=admin)
    assert bad.status_code == 422 and "buyer_id" in bad.text


def test_writes_are_attributable(keyed_app) -> None:
    client, tokens = keyed_app
    staff = {"Authorization": f"Bearer {tokens['staff']}"}
    client.post("/needs", json={**NEW_NEED, "buyer_id": B, "need_id": "audit-me"}, headers=staff)
    audit = client.get("/admin/audit", headers={"Authorization": f"Bearer {tokens['admin']}"}).json()["data"]
    entry = next(a for a in audit if a["target"] == "audit-me")
    assert entry["action"] == "need.create" and entry["actor"].startswith("Équipe French Tech (staff:")
    fb = client.get("/feedback", headers=staff).json()["data"][0]
    assert fb["actor"] and fb["encoder"].startswith("hashing") and fb["index_version"] and fb["at"]


def test_production_mode_refuses_default_empty_or_short_secret(tmp_path) -> None:
    for secret in ("", "development-secret-not-for-production", "x", "a-long-secret-of-our-own"):  # the last: 24 bytes
        with pytest.raises(ConfigurationError, match="MATCHER_SECRET_KEY"):
            create_app(Settings(data_dir=tmp_path, mode="production", secret_key=secret))
    create_app(Settings(data_dir=tmp_path, mode="production", secret_key="a-secret-of-our-own-32-bytes-long"))  # accepted
