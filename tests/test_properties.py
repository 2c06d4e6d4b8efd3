"""Property-based tests (Hypothesis): arbitrary Unicode and arbitrary ids through every write path.

Text is drawn from all of Unicode, lone surrogates, NUL and other controls, bidi controls,
combining marks, invisible characters and HTML entities included, sometimes very long; ids are
drawn from the same pool and from spellings of another organisation's ids. They go through the
API's JSON bodies (as a buyer of organisation A, as staff, as admin), the file imports (JSONL,
CSV, Parquet, XLSX) and the command line. Each write must answer below 500 and leave organisation
B's rows byte-identical (buyer writes); then every read route answers below 500 for every role.
Examples are bounded so that the whole file runs in well under a minute.
"""

from __future__ import annotations

import io
import json
import re
import string

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tenant_wall import B_NEED, SUPPLIER, A, B, organisation_rows, variants

from matcher.app import Engine
from matcher.settings import Settings
from service.app import create_app

EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

#: what hostile text is made of: anything, and the characters that broke boundaries elsewhere
NASTY = st.sampled_from(
    [
        "\ud800",
        "\udfff",
        "\x00",
        "\x07",
        "\x1b",
        "\u202e",
        "\u2066",
        "\u0301",
        "\u200b",
        "\ufeff",
        "\u0085",
        "\u00a0",
        "\u2028",
        "&#45;",
        "&lt;img",
        "&amp;",
        "🚀",
        "中",
        "'; --",
        "\\",
        "/",
        "%00",
    ]
)
PIECES = st.one_of(st.text(st.characters(blacklist_categories=()), max_size=6), NASTY)  # surrogates included
SHORT = st.lists(PIECES, max_size=8).map("".join)
TEXT = st.one_of(
    SHORT, st.builds(lambda part, n: part * n, st.lists(PIECES, min_size=1, max_size=2).map("".join), st.integers(500, 2500))
)  # sometimes long
IDS = st.one_of(st.sampled_from([v for ident in (B_NEED, B, SUPPLIER) for v in variants(ident)]), SHORT)


def _json(body: object) -> bytes:
    return json.dumps(body).encode()  # ASCII escapes: a lone surrogate travels as \ud800, as a hostile client sends it


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    settings_ = Settings(data_dir=tmp_path_factory.mktemp("props") / "data", encoder="hashing", reranker="none")
    with TestClient(create_app(settings_, engine=Engine.open(settings_))) as client:
        keys = client.app.state.keys
        tokens = {
            "buyer": keys.create("Acheteuse Armées", "buyer", A)[1],
            "buyer_b": keys.create("Acheteur Santé", "buyer", B)[1],
            "staff": keys.create("Équipe", "staff")[1],
            "admin": keys.create("Admin", "admin")[1],
        }
        yield client, tokens, settings_


def _send(client: TestClient, token: str, method: str, path: str, body: bytes, content_type: str = "application/json"):
    resp = client.request(method, path, content=body, headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    assert resp.status_code < 500, (method, path, body[:300], resp.text[:300])
    return resp


@given(need_id=IDS, buyer_id=IDS, title=TEXT, description=TEXT, region=TEXT)
@EXAMPLES
def test_buyer_writes_through_the_api_never_fail_and_never_touch_b(world, need_id, buyer_id, title, description, region) -> None:
    client, tokens, _ = world
    before = organisation_rows(client, B)
    token = tokens["buyer"]
    need = {"need_id": need_id, "buyer_id": buyer_id, "title": title, "description": description, "region": region}
    _send(client, token, "POST", "/needs", _json(need))
    _send(client, token, "PUT", f"/needs/{_path(need_id)}", _json({"title": title or "t", "buyer_id": buyer_id}))
    _send(
        client, token, "POST", "/feedback", _json({"supplier_id": need_id, "verdict": "relevant", "need_id": need_id, "query_text": title})
    )
    _send(
        client,
        token,
        "POST",
        "/match",
        _json({"text": title or "x", "buyer_id": buyer_id, "filters": {"regions": [region], "tags": [description[:50]]}}),
    )
    _send(client, token, "DELETE", f"/needs/{_path(need_id)}", b"")
    assert organisation_rows(client, B) == before


@given(supplier_id=IDS, name=TEXT, description=TEXT, tag=TEXT)
@EXAMPLES
def test_admin_supplier_writes_never_fail(world, supplier_id, name, description, tag) -> None:
    client, tokens, _ = world
    record = {"name": name, "description": description, "tags": [tag], "references": [{"objet": description, "buyer_id": supplier_id}]}
    _send(client, tokens["admin"], "PUT", f"/admin/suppliers/{_path(supplier_id)}?reindex=false", _json(record))


def _rows(need_id: str, buyer_id: str, title: str, description: str) -> list[dict]:
    return [
        {"need_id": need_id, "buyer_id": buyer_id, "title": title, "description": description},
        {"need_id": "prop-ok", "buyer_id": "min-education", "title": "Ligne valide"},
    ]


@given(need_id=IDS, buyer_id=IDS, title=TEXT, description=TEXT)
@EXAMPLES
def test_staff_file_imports_in_every_format_never_fail(world, need_id, buyer_id, title, description) -> None:
    client, tokens, _ = world
    rows = _rows(need_id, buyer_id, title, description)
    token = tokens["staff"]
    jsonl = b"".join(_json(r) + b"\n" for r in rows)
    report = _send(client, token, "POST", "/needs/import?format=jsonl", jsonl, "application/x-ndjson").json()
    assert report["inserted"] + report["updated"] >= 1  # the valid row always lands
    csv_text = "need_id,buyer_id,title,description\n" + "".join(
        ",".join(_csv_cell(str(r.get(k, ""))) for k in ("need_id", "buyer_id", "title", "description")) + "\n" for r in rows
    )
    _send(client, token, "POST", "/needs/import?format=csv", csv_text.encode("utf-8", "surrogatepass"), "text/csv")
    clean = [{k: _storable(v) for k, v in r.items()} for r in rows]  # Arrow and XLSX cannot even hold the rest
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(clean), buffer)
    _send(client, token, "POST", "/needs/import?format=parquet", buffer.getvalue(), "application/octet-stream")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["need_id", "buyer_id", "title", "description"])
    for r in clean:
        sheet.append([_xlsx_safe(r.get(k, "")) for k in ("need_id", "buyer_id", "title", "description")])
    out = io.BytesIO()
    book.save(out)
    _send(client, token, "POST", "/needs/import?format=xlsx", out.getvalue(), "application/octet-stream")


@given(need_id=IDS, title=TEXT)
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_cli_imports_never_crash(world, need_id, title, tmp_path_factory) -> None:
    from matcher.cli import main

    _, _, settings_ = world
    path = tmp_path_factory.mktemp("cli") / "needs.jsonl"
    path.write_bytes(b"".join(_json(r) + b"\n" for r in _rows(need_id, "min-education", title, "")))
    assert main(["--data-dir", str(settings_.data_dir), "--encoder", "hashing", "import", str(path)]) == 0


def test_then_every_read_route_answers_every_role(world) -> None:
    """Runs after the properties above (file order): whatever they stored, every read route works."""
    client, tokens, _ = world
    paths = [p for p, ops in client.app.openapi()["paths"].items() if "get" in ops]
    concrete = {"{need_id}": B_NEED, "{buyer_id}": B, "{supplier_id}": SUPPLIER}
    buyers = [b["buyer_id"] for b in client.get("/buyers", headers={"Authorization": f"Bearer {tokens['staff']}"}).json()["data"]]
    assert client.get("/health").json()["needs"] > 26  # the properties above stored needs (the sample has 25)
    for who, token in tokens.items():
        for template in paths:
            path = template
            for name, value in concrete.items():
                path = path.replace(name, value)
            resp = client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert resp.status_code < 500, (who, path, resp.text[:300])
        for buyer in buyers[:40]:
            for path in (f"/buyers/{_path(buyer)}/needs", f"/buyers/{_path(buyer)}/shortlist"):
                assert client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code < 500, (who, path)
    assert client.get("/shortlists/export?format=xlsx", headers={"Authorization": f"Bearer {tokens['staff']}"}).status_code == 200


def _path(ident: str) -> str:
    from urllib.parse import quote

    return quote(ident.encode("utf-8", "surrogatepass"), safe="") or "%20"


def _csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


_SURROGATES = re.compile("[\ud800-\udfff]")


def _storable(value: str) -> str:
    return _SURROGATES.sub("?", value)


_XLSX_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xlsx_safe(value: str) -> str:
    return _XLSX_ILLEGAL.sub("", value) if value.strip(string.whitespace) else value
