"""One regression test per finding of the hostile review (issue 12), named after it.

Each reproduces what the tester did against the service on the bundled sample catalogue, then
checks the guarantee that closes the class, not only the one string.
"""

from __future__ import annotations

import gzip
import io
import json
import socket
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from live_server import serving

from matcher.app import Engine
from matcher.data.tables import needs_table
from matcher.settings import MAX_JSON_BODY_BYTES, MAX_UPLOAD_BYTES, Settings
from service.app import ConfigurationError, create_app

A, B = "min-armees", "min-sante"
B_NEED = "demo-n05"  # a need of organisation B in the sample catalogue
#: spellings of B's id that a careless boundary would clean into B's id after checking the raw one
VARIANTS = [f"{B_NEED} ", f" {B_NEED}", f"{B_NEED}\u00a0", f"\u0085{B_NEED}", "demo&#45;n05", f"{B_NEED}\t", f"\u2028{B_NEED}"]


def _settings(tmp: Path, **extra) -> Settings:
    return Settings(data_dir=tmp / "data", encoder="hashing", reranker="none", **extra)


@pytest.fixture
def app_client(tmp_path: Path):
    """A fresh service on the sample catalogue (each test may write), with a token per caller."""
    settings = _settings(tmp_path)
    with TestClient(create_app(settings, engine=Engine.open(settings))) as client:
        keys = client.app.state.keys
        tokens = {
            "buyer_a": keys.create("Acheteuse Armées", "buyer", A)[1],
            "buyer_b": keys.create("Acheteur Santé", "buyer", B)[1],
            "staff": keys.create("Équipe French Tech", "staff")[1],
            "admin": keys.create("Admin", "admin")[1],
        }
        yield client, tokens


def _h(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def _rows_of(client: TestClient, buyer_id: str) -> list[tuple]:
    """Every stored need row of an organisation, byte for byte (record and timestamp included)."""
    with client.app.state.served.engine.catalogue.engine.connect() as conn:
        query = sa.select(needs_table).where(needs_table.c.buyer_id == buyer_id).order_by(needs_table.c.need_id)
        return [tuple(r) for r in conn.execute(query)]


# -- 1 ----------------------------------------------------------------------------------------
def test_finding_01_an_id_variant_cannot_take_over_another_organisations_need(app_client) -> None:
    client, tokens = app_client
    before = _rows_of(client, B)
    for variant in VARIANTS:
        body = {"need_id": variant, "title": "x"}
        created = client.post("/needs", json=body, headers=_h(tokens, "buyer_a"))
        assert created.status_code in (201, 404), (variant, created.text)
        if created.status_code == 201:  # only a distinct id may be created (an entity is not decoded)
            assert created.json()["need_id"] != B_NEED and created.json()["buyer_id"] == A
        edited = client.put(f"/needs/{quote(variant, safe='')}", json={"title": "piraté"}, headers=_h(tokens, "buyer_a"))
        assert edited.status_code in (404, 422) or edited.json()["need_id"] == created.json()["need_id"], (variant, edited.text)
        gone = client.delete(f"/needs/{quote(variant, safe='')}", headers=_h(tokens, "buyer_a"))
        assert gone.status_code in (404, 422) or created.status_code == 201, (variant, gone.text)
    assert _rows_of(client, B) == before
    assert client.get(f"/needs/{B_NEED}", headers=_h(tokens, "buyer_b")).json()["buyer_id"] == B
    # one canonical form at every boundary: the API stores what the file import and the CLI store
    staff = client.post("/needs", json={"need_id": " n-canon\u00a0", "buyer_id": f" {B}\u0085", "title": "t"}, headers=_h(tokens, "staff"))
    assert staff.status_code == 201 and staff.json()["need_id"] == "n-canon" and staff.json()["buyer_id"] == B
    assert client.post("/needs", json={"need_id": "n-canon", "buyer_id": B, "title": "t"}, headers=_h(tokens, "staff")).status_code == 409
    invisible = client.post("/needs", json={"need_id": "demo\u200b-n05", "title": "t"}, headers=_h(tokens, "buyer_a"))
    assert invisible.status_code == 422 and "need_id" in invisible.json()["detail"] and "U+200B" in invisible.json()["detail"]


def test_finding_01_file_imports_and_the_cli_use_the_same_canonical_ids(tmp_path: Path) -> None:
    from matcher.cli import main
    from matcher.data.catalogue import Catalogue

    settings = _settings(tmp_path)
    path = tmp_path / "needs.jsonl"
    path.write_text(json.dumps({"need_id": "n-1\u00a0", "buyer_id": "\u0085acheteur ", "title": "Drones"}) + "\n", encoding="utf-8")
    assert main(["--data-dir", str(settings.data_dir), "--encoder", "hashing", "import", str(path)]) == 0
    need = Catalogue(settings.db_url).need("n-1")
    assert need is not None and need.buyer_id == "acheteur"


# -- 2 ----------------------------------------------------------------------------------------
def test_finding_02_text_that_is_not_unicode_is_refused_on_every_path(app_client) -> None:
    client, tokens = app_client
    line = '{"need_id":"rt-s1","buyer_id":"min-sante","title":"\\ud800"}\n'.encode()
    report = client.post("/needs/import?format=jsonl", content=line, headers=_h(tokens, "staff")).json()
    assert report["rejected"] == 1 and "title" in report["errors"][0] and "Unicode valide" in report["errors"][0]
    before = client.get("/health").json()
    put = client.put(
        "/admin/suppliers/demo-s001?reindex=true",
        content=b'{"name": "X", "description": "bad \\ud800 text"}',
        headers={**_h(tokens, "admin"), "Content-Type": "application/json"},
    )
    assert put.status_code == 422 and "description" in put.json()["detail"]
    for method, path, body in [
        ("post", "/needs", '{"title": "\\udfff", "buyer_id": "min-sante"}'),
        ("post", "/match", '{"text": "drones \\ud83d"}'),
        ("post", "/feedback", '{"supplier_id": "demo-s001", "verdict": "relevant", "query_text": "\\ud800"}'),
        ("post", "/admin/keys", '{"name": "\\ud800", "role": "staff"}'),
    ]:
        resp = client.request(method, path, content=body.encode(), headers={**_h(tokens, "admin"), "Content-Type": "application/json"})
        assert resp.status_code == 422 and "Unicode valide" in resp.text, (path, resp.text)
    assert client.get("/health").json() == before
    for path in (
        "/needs/rt-s1",
        f"/buyers/{B}/needs",
        f"/buyers/{B}/shortlist",
        "/shortlists",
        "/stats",
        "/suppliers/demo-s001/needs",
        "/shortlists/export?format=xlsx",
    ):
        assert client.get(path, headers=_h(tokens, "staff")).status_code in (200, 404), path


def test_finding_02_a_stored_row_that_cannot_be_processed_is_skipped_with_a_log_not_fatal(tmp_path: Path, caplog) -> None:
    """The second wall: rows stored before a rule existed (written here straight into the database)."""
    settings = _settings(tmp_path)
    Engine.open(settings)  # seeds the sample catalogue
    db = sa.create_engine(settings.db_url)
    with db.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO suppliers VALUES ('bad-s', 'Bad', :r, '2020-01-01 00:00:00')"),
            {"r": json.dumps({"supplier_id": "bad-s", "name": "Bad", "description": "\ud800"})},
        )
        conn.execute(
            sa.text("INSERT INTO needs VALUES ('bad-n', 'min-sante', :r, '2020-01-01 00:00:00')"),
            {"r": json.dumps({"need_id": "bad-n", "buyer_id": "min-sante", "title": "\ud800"})},
        )
    with caplog.at_level("ERROR"):
        engine = Engine.open(settings)  # start-up (and so `matcher serve`) skips them instead of failing
    assert "bad-s" not in engine.corpus.position and "bad-s" in caplog.text and "demo-s001" in engine.corpus.position
    with TestClient(create_app(settings, engine=engine)) as client:
        token = client.app.state.keys.create("staff", "staff")[1]
        h = {"Authorization": f"Bearer {token}"}
        for path in (
            f"/buyers/{B}/needs",
            f"/buyers/{B}/shortlist",
            "/shortlists",
            "/stats",
            "/shortlists/export?format=csv",
            "/suppliers/demo-s001/needs",
            "/needs/bad-n",
        ):
            assert client.get(path, headers=h).status_code in (200, 404), path
        assert "bad-n" in caplog.text
        # staff can still repair or delete the row: the write does not need to read it back
        assert client.put("/needs/bad-n", json={"title": "Réparé", "buyer_id": B}, headers=h).status_code == 200
        assert client.get("/needs/bad-n", headers=h).json()["title"] == "Réparé"


# -- 3 ----------------------------------------------------------------------------------------
def test_finding_03_a_replace_that_fails_keeps_the_record(app_client) -> None:
    client, tokens = app_client
    h = _h(tokens, "admin")
    catalogue = client.app.state.served.engine.catalogue
    before = catalogue.supplier("demo-s001")
    resp = client.put(
        "/admin/suppliers/demo-s001",
        content='{"name": "X", "description": "\\ud800"}'.encode(),
        headers={**h, "Content-Type": "application/json"},
    )
    assert resp.status_code == 422
    assert catalogue.supplier("demo-s001") == before
    # every multi-statement write is one transaction: a failure after the first statement stores nothing
    from matcher.data.schema import Supplier

    replacement = Supplier(supplier_id="demo-s001", name="Remplacée", description="Autre chose")
    with pytest.raises(RuntimeError), catalogue.transaction() as tx:
        tx.replace_supplier(replacement)
        tx.audit("test", "supplier.replace", "demo-s001")
        raise RuntimeError("the audit or anything after it failed")
    assert catalogue.supplier("demo-s001") == before


# -- 4 ----------------------------------------------------------------------------------------
def test_finding_04_broken_files_get_a_row_error_or_422_never_500(app_client, tmp_path: Path) -> None:
    client, tokens = app_client
    h = _h(tokens, "staff")
    good = json.dumps({"need_id": "ok-1", "buyer_id": "min-sante", "title": "Bonne ligne"})
    deep = "[" * 100_000 + "]" * 100_000
    report = client.post("/needs/import?format=jsonl", content=f"{deep}\n{good}\n".encode(), headers=h)
    assert (
        report.status_code == 200
        and report.json()["rejected"] == 1
        and report.json()["inserted"] == 1
        and "ligne 1" in report.json()["errors"][0]
    )
    nested = json.dumps({"need_id": "ok-2", "buyer_id": "b", "title": "t", "x": json.loads("[" * 50 + "]" * 50)})
    assert client.post("/needs/import?format=jsonl", content=nested.encode() + b"\n", headers=h).json()["rejected"] == 1

    long_cell = "a" * 131_073
    csv = f"need_id,buyer_id,title\ncsv-long,min-sante,{long_cell}\ncsv-ok,min-sante,Bonne ligne\n".encode()
    report = client.post("/needs/import?format=csv", content=csv, headers=h)
    assert (
        report.status_code == 200
        and report.json()["rejected"] == 1
        and "title" in report.json()["errors"][0]
        and report.json()["inserted"] == 1
    )

    table = pa.table(
        {
            "need_id": ["pq-bad", "pq-ok"],
            "buyer_id": ["min-sante", "min-sante"],
            "title": ["Date hors limites", "Bonne ligne"],
            "notified": pa.array([400_000_000_000_000_000, 1_600_000_000_000_000], type=pa.timestamp("us")),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    report = client.post("/needs/import?format=parquet", content=buffer.getvalue(), headers=h)
    assert report.status_code == 200, report.text
    assert report.json()["rejected"] == 1 and "notified" in report.json()["errors"][0] and report.json()["inserted"] == 1
    for junk in (b"PAR1garbage", b"\x00" * 100):
        assert client.post("/needs/import?format=parquet", content=junk, headers=h).status_code == 422
        assert client.post("/needs/import?format=xlsx", content=junk, headers=h).status_code == 422


# -- 5 ----------------------------------------------------------------------------------------
@pytest.fixture
def http_server(tmp_path: Path):
    """The service over real HTTP on a free loopback port (uvicorn in a thread)."""
    settings = _settings(tmp_path, request_budget_seconds=5.0)
    app = create_app(settings, engine=Engine.open(settings))
    with serving(app) as base:
        yield app, int(base.rsplit(":", 1)[1])


def _raw_request(port: int, head: str, body: bytes = b"", read_timeout: float = 5.0) -> tuple[int, bytes]:
    """Send a request head (and the start of a body), return the status and what came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1]), data


def test_finding_05_the_key_is_checked_and_the_size_capped_before_the_body_is_read(http_server) -> None:
    app, port = http_server
    token = app.state.keys.create("staff", "staff")[1]
    # 208 MB announced, a few bytes sent: answered at once, nothing waits for (or buffers) the rest
    head = f"POST /needs/import?format=jsonl HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {208_000_000}\r\n"
    started = time.perf_counter()
    status, _ = _raw_request(port, head, b"[1,2,3")
    assert status == 401 and time.perf_counter() - started < 3
    status, _ = _raw_request(port, head + f"Authorization: Bearer {token}\r\n", b"[1,2,3")
    assert status == 413
    head = f"POST /match HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {MAX_JSON_BODY_BYTES + 1}\r\nAuthorization: Bearer {token}\r\n"
    assert _raw_request(port, head, b"{")[0] == 413

    # without a length (chunked), the cap holds while reading
    def chunks():
        for _ in range(40):
            yield b" " * 65536

    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        resp = client.post("/match", content=chunks(), headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        assert resp.status_code == 413 and resp.json()["detail"].startswith("body : le corps de la requête dépasse")
        assert client.post("/match", content=chunks(), headers={"Content-Type": "application/json"}).status_code == 401
    assert MAX_UPLOAD_BYTES > MAX_JSON_BODY_BYTES


# -- 6 ----------------------------------------------------------------------------------------
def test_finding_06_the_work_of_one_query_is_bounded(tmp_path: Path) -> None:
    settings = _settings(tmp_path, request_budget_seconds=0.5, heavy_queue=0, max_batch_tokens=1024)
    with TestClient(create_app(settings, engine=Engine.open(settings))) as client:
        token = client.app.state.keys.create("staff", "staff")[1]
        h = {"Authorization": f"Bearer {token}"}
        encoder = client.app.state.served.engine.ranker.encoder
        # a batch's tokens are bounded in all
        big = client.post("/match/batch", json={"queries": [{"text": "plateforme " * 400}] * 10}, headers=h)
        assert big.status_code == 422 and "queries" in big.json()["detail"]
        # the text is cut to what the encoder reads (the real encoders' limits: tests/test_embeddings.py)
        encoder.max_query_tokens = 64
        clipped = encoder.clip_query("🚀" * 4999)
        assert encoder.count_tokens(clipped) <= 64 < encoder.count_tokens("🚀" * 4999)
        encoder.max_query_tokens = None
        # while a long request holds the heavy lane, a short one is answered, a long one gets 503 + Retry-After
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with encoder.lanes.heavy_slot(None):
                held.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        held.wait(5)
        try:
            assert client.post("/match", json={"text": "drones"}, headers=h).status_code == 200
            busy = client.post("/match", json={"text": "drones de surveillance des sites " * 20}, headers=h)
            assert busy.status_code == 503 and int(busy.headers["Retry-After"]) >= 1 and busy.json()["detail"].startswith("service : ")
            encoder.lanes.heavy_queue = 1  # room to wait now: it waits, until its time budget (0.5 s) runs out
            started = time.monotonic()
            late = client.post("/match", json={"text": "drones de surveillance des sites " * 20}, headers=h)
            assert late.status_code == 503 and "délai dépassé" in late.json()["detail"] and 0.4 < time.monotonic() - started < 5
        finally:
            release.set()
            holder.join()
        assert client.post("/match", json={"text": "drones de surveillance des sites " * 20}, headers=h).status_code == 200


def test_finding_06_a_key_over_its_rate_gets_429_with_retry_after(tmp_path: Path) -> None:
    settings = _settings(tmp_path, rate_limit="3/minute")
    with TestClient(create_app(settings, engine=Engine.open(settings))) as client:
        keys = client.app.state.keys
        one, other = keys.create("un", "staff")[1], keys.create("autre", "staff")[1]
        codes = [client.get("/me", headers={"Authorization": f"Bearer {one}"}).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = client.get("/buyers", headers={"Authorization": f"Bearer {one}"})
        assert (
            refused.status_code == 429
            and 1 <= int(refused.headers["Retry-After"]) <= 60
            and refused.json()["detail"].startswith("rate : trop de requêtes")
        )
        assert client.get("/me", headers={"Authorization": f"Bearer {other}"}).status_code == 200  # per key
    with pytest.raises(ConfigurationError, match="MATCHER_RATE_LIMIT"):
        create_app(_settings(tmp_path, rate_limit="beaucoup"))


# -- 7 ----------------------------------------------------------------------------------------
def test_finding_07_concurrent_creates_of_one_id_get_exactly_one_201(http_server) -> None:
    app, port = http_server
    token = app.state.keys.create("staff", "staff")[1]
    for round_ in range(10):
        barrier = threading.Barrier(8)
        codes: list[int] = []

        def create(i: int, barrier: threading.Barrier = barrier, need_id: str = f"race-{round_}", codes: list[int] = codes) -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                barrier.wait()
                resp = client.post(
                    "/needs",
                    json={"need_id": need_id, "buyer_id": B, "title": f"écrivain {i}"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                codes.append(resp.status_code)

        threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(codes) == [201] + [409] * 7, codes


# -- 8 ----------------------------------------------------------------------------------------
def test_finding_08_another_organisations_id_answers_404_not_409(app_client) -> None:
    client, tokens = app_client
    theirs = client.post("/needs", json={"need_id": B_NEED, "title": "x"}, headers=_h(tokens, "buyer_a"))
    assert theirs.status_code == 404 and theirs.json()["detail"] == f"need_id : besoin {B_NEED!r} introuvable"  # as for an unknown id
    ours = client.post("/needs", json={"need_id": "demo-n01", "title": "x"}, headers=_h(tokens, "buyer_a"))
    assert ours.status_code == 409
    assert client.post("/needs", json={"need_id": B_NEED, "buyer_id": B, "title": "x"}, headers=_h(tokens, "staff")).status_code == 409


# -- 9 ----------------------------------------------------------------------------------------
def test_finding_09_metrics_need_a_staff_key(app_client) -> None:
    client, tokens = app_client
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=_h(tokens, "buyer_a")).status_code == 403
    assert "matcher_requests_total" in client.get("/metrics", headers=_h(tokens, "staff")).text


def test_finding_09_restore_of_a_truncated_archive_says_restore(tmp_path: Path, capsys) -> None:
    from matcher.cli import main

    data = tmp_path / "data"
    Engine.open(Settings(data_dir=data, encoder="hashing", reranker="none"))
    archive = tmp_path / "backup.tar.gz"
    assert main(["--data-dir", str(data), "--encoder", "hashing", "backup", "--out", str(archive)]) == 0
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(SystemExit) as stop:
        main(["--data-dir", str(tmp_path / "other"), "--encoder", "hashing", "restore", str(archive)])
    assert str(stop.value.code).startswith("restore: ") and "Traceback" not in str(stop.value.code)
    archive.write_bytes(gzip.compress(b"not a tar"))
    with pytest.raises(SystemExit) as stop:
        main(["--data-dir", str(tmp_path / "other"), "--encoder", "hashing", "restore", str(archive)])
    assert str(stop.value.code).startswith("restore: ")


def test_finding_09_segment_json_and_entities(app_client) -> None:
    client, tokens = app_client
    h = _h(tokens, "staff")
    resp = client.post("/match", json={"text": "drones", "segment": "defense"}, headers=h)
    assert resp.status_code == 422 and "segment" in resp.json()["detail"] and "numerique" in resp.json()["detail"]
    for path in ("/match", "/needs", "/feedback", "/match/batch"):
        bad = client.post(path, content=b'{"text": ', headers={**h, "Content-Type": "application/json"})
        assert bad.status_code == 400 and bad.json()["detail"].startswith("body : JSON invalide"), (path, bad.text)
    sent = {"need_id": "ent-1", "buyer_id": B, "title": "&lt;img src=x&gt; R&amp;D"}
    assert client.post("/needs", json=sent, headers=h).status_code == 201
    assert client.get("/needs/ent-1", headers=h).json()["title"] == sent["title"]  # stored as sent, escaped on output


# -- 10 ---------------------------------------------------------------------------------------
def test_finding_10_security_headers(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with TestClient(create_app(settings, engine=Engine.open(settings))) as client:
        page = client.get("/")
        csp = page.headers["content-security-policy"]
        for rule in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"):
            assert rule in csp
        assert "unsafe-inline" not in csp and "<script>" not in page.text and " style=" not in page.text
        assert client.get("/static/app.js").status_code == 200 and client.get("/static/app.css").status_code == 200
        for resp in (page, client.get("/health"), client.get("/me")):
            assert resp.headers["x-content-type-options"] == "nosniff" and resp.headers["referrer-policy"] == "same-origin"
            assert "strict-transport-security" not in resp.headers  # development mode: no HTTPS assumed
    production = _settings(tmp_path / "prod", mode="production", secret_key="s" * 40)
    with TestClient(create_app(production, engine=Engine.open(production))) as client:
        assert client.get("/health").headers["strict-transport-security"].startswith("max-age=")
