"""The wall between organisations, generated from the OpenAPI schema.

For every write route of the app, a buyer key of organisation A aims at organisation B's
records with B's ids spelled every way a careless boundary could clean into B's id (trailing
and leading white space, no-break space, NEL, an HTML entity, a tab, a line separator, case,
NFD, an invisible character). Afterwards B's rows are byte-identical. A write route without an
attack below makes the test fail: a new route joins the wall when it is added.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from matcher.app import Engine
from matcher.data.tables import (
    agent_organisations_table,
    api_keys_table,
    buyers_table,
    feedback_table,
    labels_table,
    needs_table,
    suppliers_table,
)
from matcher.settings import Settings
from service.app import create_app

A, B = "min-armees", "min-sante"
B_NEED, A_NEED, SUPPLIER = "demo-n05", "demo-n01", "demo-s001"
B_SIRET = "11000000000017"  # the establishment whose agents sign in as buyers of B
B_KEY = "<B's key id>"  # stands for the id of B's buyer key, known once the fixture created it


def variants(ident: str) -> list[str]:
    """``ident`` and the spellings that must never reach it by accident."""
    return [
        ident,
        f"{ident} ",
        f" {ident}",
        f"{ident}\u00a0",
        f"\u0085{ident}",
        f"{ident}\t",
        f"\u2028{ident}",
        ident.replace("-", "&#45;"),
        ident.upper(),
        unicodedata.normalize("NFD", ident),
        f"{ident}\u200b",
        f"\ufeff{ident}",
    ]


def _p(value: str) -> str:
    return quote(value, safe="")


#: a write request: (method, path, JSON body or raw bytes)
Request = tuple[str, str, object]
#: for each write route of the schema: the requests a buyer of A sends with one spelling ``v`` of B's ids
#: (``v(x)`` turns one of B's ids into that spelling)
ATTACKS: dict[tuple[str, str], Callable[[Callable[[str], str]], list[Request]]] = {
    ("POST", "/match"): lambda v: [("post", "/match", {"text": "drones", "buyer_id": v(B)})],
    ("POST", "/match/batch"): lambda v: [("post", "/match/batch", {"queries": [{"text": "drones", "buyer_id": v(B)}]})],
    ("POST", "/needs"): lambda v: [
        ("post", "/needs", {"need_id": v(B_NEED), "title": "piraté"}),
        ("post", "/needs", {"need_id": v(B_NEED), "title": "piraté", "buyer_id": v(B)}),
        ("post", "/needs", {"title": "piraté", "buyer_id": v(B)}),
    ],
    ("PUT", "/needs/{need_id}"): lambda v: [
        ("put", f"/needs/{_p(v(B_NEED))}", {"title": "piraté"}),
        ("put", f"/needs/{_p(v(B_NEED))}", {"title": "piraté", "buyer_id": v(B)}),
        ("put", f"/needs/{A_NEED}", {"title": "déplacé", "buyer_id": v(B)}),
        ("put", f"/needs/{A_NEED}", {"title": "renommé", "need_id": v(B_NEED)}),
    ],
    ("DELETE", "/needs/{need_id}"): lambda v: [("delete", f"/needs/{_p(v(B_NEED))}", None)],
    ("POST", "/needs/import"): lambda v: [
        ("post", "/needs/import?format=jsonl", (json.dumps({"need_id": v(B_NEED), "buyer_id": v(B), "title": "piraté"}) + "\n").encode()),
    ],
    ("POST", "/feedback"): lambda v: [
        ("post", "/feedback", {"supplier_id": SUPPLIER, "verdict": "contracted", "need_id": v(B_NEED)}),
        ("post", "/feedback", {"supplier_id": SUPPLIER, "verdict": "contracted", "query_text": "x", "buyer_id": v(B)}),
    ],
    # the SIRET table of sign-in: a buyer key may neither send other agents into B nor take B's agents away
    ("PUT", "/agents/organisations/{siret}"): lambda v: [
        ("put", f"/agents/organisations/{B_SIRET}", {"role": "buyer", "buyer_id": v(A), "label": "détourné"}),
        ("put", "/agents/organisations/11000000000025", {"role": "buyer", "buyer_id": v(B)}),
        ("put", "/agents/organisations/11000000000025", {"role": "admin"}),
    ],
    ("DELETE", "/agents/organisations/{siret}"): lambda v: [("delete", f"/agents/organisations/{B_SIRET}", None)],
    ("POST", "/admin/keys"): lambda v: [("post", "/admin/keys", {"name": "pirate", "role": "buyer", "buyer_id": v(B)})],
    ("DELETE", "/admin/keys/{key_id}"): lambda v: [("delete", f"/admin/keys/{_p(v(B_KEY))}", None)],
    ("POST", "/admin/suppliers/import"): lambda v: [
        (
            "post",
            "/admin/suppliers/import?format=jsonl&reindex=false",
            (json.dumps({"supplier_id": v(SUPPLIER), "name": "Piraté", "description": "x"}) + "\n").encode(),
        ),
    ],
    ("POST", "/admin/reindex"): lambda v: [("post", "/admin/reindex", None)],
    ("PUT", "/admin/suppliers/{supplier_id}"): lambda v: [
        ("put", f"/admin/suppliers/{_p(v(SUPPLIER))}?reindex=false", {"name": "Piraté", "description": "x"})
    ],
    ("DELETE", "/admin/suppliers/{supplier_id}"): lambda v: [("delete", f"/admin/suppliers/{_p(v(SUPPLIER))}?reindex=false", None)],
    ("POST", "/admin/promote"): lambda v: [("post", "/admin/promote", {"benchmark": v(B)})],
}


@pytest.fixture(scope="module")
def wall(tmp_path_factory: pytest.TempPathFactory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("wall") / "data", encoder="hashing", reranker="none")
    with TestClient(create_app(settings, engine=Engine.open(settings))) as client:
        keys = client.app.state.keys
        b_key_id, b_token = keys.create("Acheteur Santé", "buyer", B)
        attacker = keys.create("Acheteuse Armées", "buyer", A)[1]
        staff = keys.create("Équipe", "staff")[1]
        # B's agents sign in through the SIRET table
        client.app.state.agents.set(B_SIRET, "buyer", B, "Ministère de la Santé", "test")
        # B owns feedback too
        client.post(
            "/feedback",
            json={"supplier_id": SUPPLIER, "verdict": "relevant", "need_id": B_NEED},
            headers={"Authorization": f"Bearer {b_token}"},
        )
        yield client, {"attacker": attacker, "staff": staff, "b": b_token}, b_key_id


def organisation_rows(client: TestClient, buyer_id: str) -> dict[str, list[tuple]]:
    """Everything of one organisation, as stored (plus the tables no buyer key may write)."""
    engine = client.app.state.served.engine.catalogue.engine
    queries = {
        "needs": sa.select(needs_table).where(needs_table.c.buyer_id == buyer_id).order_by(needs_table.c.need_id),
        "buyers": sa.select(buyers_table).where(buyers_table.c.buyer_id == buyer_id),
        "feedback": sa.select(feedback_table).where(feedback_table.c.buyer_id == buyer_id).order_by(feedback_table.c.id),
        "keys": sa.select(api_keys_table).where(api_keys_table.c.buyer_id == buyer_id).order_by(api_keys_table.c.key_id),
        "agents": sa.select(agent_organisations_table).order_by(agent_organisations_table.c.siret),
        "suppliers": sa.select(suppliers_table).order_by(suppliers_table.c.supplier_id),
        "labels": sa.select(labels_table).order_by(labels_table.c.need_id, labels_table.c.supplier_id),
    }
    with engine.connect() as conn:
        return {name: [tuple(r) for r in conn.execute(q)] for name, q in queries.items()}


def _write_routes(client: TestClient) -> list[tuple[str, str]]:
    return [
        (m.upper(), path)
        for path, ops in client.app.openapi()["paths"].items()
        for m in ops
        if m.upper() in ("POST", "PUT", "PATCH", "DELETE")
    ]


def test_every_write_route_has_an_attack(wall) -> None:
    client, _, _ = wall
    routes = _write_routes(client)
    assert len(routes) >= 14
    missing = [r for r in routes if r not in ATTACKS]
    assert not missing, f"write routes without a tenant-wall attack (add them to ATTACKS): {missing}"


def test_a_buyer_of_a_changes_nothing_of_b_through_any_write_route(wall) -> None:
    client, tokens, b_key_id = wall
    before = organisation_rows(client, B)
    assert before["needs"] and before["feedback"] and before["keys"] and before["agents"]
    headers = {"Authorization": f"Bearer {tokens['attacker']}"}
    sent = 0
    for route in _write_routes(client):
        for spelling in range(len(variants("x"))):

            def v(ident: str, i: int = spelling) -> str:
                return variants(b_key_id if ident == B_KEY else ident)[i]

            for method, path, body in ATTACKS[route](v):
                if isinstance(body, bytes):
                    resp = client.request(method, path, content=body, headers=headers)
                else:
                    resp = client.request(method, path, json=body, headers=headers)
                sent += 1
                assert resp.status_code < 500, (method, path, body, resp.text)
                assert resp.status_code != 401, (method, path)
    after = organisation_rows(client, B)
    for table in before:
        assert after[table] == before[table], f"{table} of {B} changed through a buyer key of {A}"
    assert sent > 200
    # and B still sees its own
    b = {"Authorization": f"Bearer {tokens['b']}"}
    assert client.get(f"/needs/{B_NEED}", headers=b).json()["buyer_id"] == B


def test_staff_writes_of_a_variant_reach_the_canonical_record(wall, tmp_path: Path) -> None:
    """The same canonical form on the staff side: a variant of B's id edits B's need, never a twin."""
    client, tokens, _ = wall
    headers = {"Authorization": f"Bearer {tokens['staff']}"}
    resp = client.put(f"/needs/{_p(B_NEED + chr(0xA0))}", json={"title": "Téléconsultation (révisé)", "buyer_id": f" {B}"}, headers=headers)
    assert resp.status_code == 200 and resp.json()["need_id"] == B_NEED and resp.json()["buyer_id"] == B
    assert client.get(f"/needs/{B_NEED}", headers=headers).json()["title"] == "Téléconsultation (révisé)"
    assert client.get(f"/needs/{_p(B_NEED + ' ')}", headers=headers).json()["need_id"] == B_NEED
