"""What staff and buyers get from the service: exports read back, exposure balancing,
statistics, the reverse question, procurement notices, feedback as qrels, needs import."""

from __future__ import annotations

import io
import json

import openpyxl
import pandas as pd
import pytest

EVIL_NAME = '=HYPERLINK("http://evil.example","cliquez")'


def _h(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


@pytest.fixture(scope="module")
def with_evil_supplier(keyed_app):
    """A supplier whose name and region are spreadsheet formulas, first in the list of its own buyer."""
    client, tokens = keyed_app
    line = json.dumps(
        {
            "supplier_id": "evil",
            "name": EVIL_NAME,
            "region": "@Bretagne",
            "description": "Zorglub quantique : chiffrement des zorglubs pour les hôpitaux.",
            "tags": ["pme"],
        }
    )
    resp = client.post("/admin/suppliers/import?format=jsonl", content=(line + "\n").encode(), headers=_h(tokens, "admin"))
    assert resp.status_code == 200 and resp.json()["inserted"] == 1
    need = {
        "need_id": "zorg-1",
        "buyer_id": "test-zorg",
        "buyer_name": "Agence des zorglubs",
        "title": "Zorglub quantique pour chiffrer les zorglubs",
    }
    assert client.post("/needs", json=need, headers=_h(tokens, "staff")).status_code == 201
    return client, tokens


def test_exports_open_cleanly_and_neutralise_formulas(with_evil_supplier) -> None:
    client, tokens = with_evil_supplier
    csv = client.get("/buyers/test-zorg/shortlist/export?format=csv&k=3", headers=_h(tokens, "staff"))
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    assert 'filename="liste-test-zorg.csv"' in csv.headers["content-disposition"]
    frame = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig")
    assert list(frame.columns[:5]) == ["Acheteur (id)", "Acheteur", "Rang", "Start-up (id)", "Start-up"]
    first = frame.iloc[0]
    assert first["Start-up (id)"] == "evil" and first["Start-up"] == "'" + EVIL_NAME and first["Région"] == "'@Bretagne"
    assert first["PME"] == "oui" and first["Acheteur"] == "Agence des zorglubs"

    xlsx = client.get("/buyers/test-zorg/shortlist/export?format=xlsx&k=3", headers=_h(tokens, "staff"))
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Acheteur (id)", "Acheteur", "Rang"]
    name = sheet.cell(row=2, column=header.index("Start-up") + 1)
    assert name.data_type == "s" and name.value == "'" + EVIL_NAME
    assert isinstance(sheet.cell(row=2, column=header.index("Rang") + 1).value, int)
    frame = pd.read_excel(io.BytesIO(xlsx.content))
    assert len(frame) == 3 and frame["Score"].dtype.kind == "f"

    every = client.get("/shortlists/export?format=xlsx&k=2", headers=_h(tokens, "staff"))
    frame = pd.read_excel(io.BytesIO(every.content))
    assert frame["Acheteur (id)"].nunique() >= 6
    segments = {name.strip() for cell in frame["Segments"].dropna() for name in str(cell).split(",")}
    assert segments and segments <= {"Santé", "Prestations intellectuelles", "Services numériques", "Immobilier"}  # names, not codes
    assert all(str(v).startswith("encodeur ") and " second étage " in str(v) for v in frame["Versions"])  # French for staff


def test_exposure_balancing_caps_and_spreads(keyed_app) -> None:
    client, tokens = keyed_app
    plain = client.get("/shortlists?k=5", headers=_h(tokens, "staff")).json()
    capped = client.get("/shortlists?k=5&cap=1&trade_off=1", headers=_h(tokens, "staff")).json()
    before, after = capped["exposure_before"], capped["exposure_after"]
    assert before == plain["exposure_before"] == plain["exposure_after"]
    assert after["max_exposure"] <= 1 and after["distinct_items"] >= before["distinct_items"]
    assert after["gini_catalogue"] <= before["gini_catalogue"]
    shown = [r["supplier_id"] for lst in capped["lists"] for r in lst["results"]]
    assert len(shown) == len(set(shown))
    assert all(lst["results"][0]["rank"] == 1 for lst in capped["lists"] if lst["results"])
    bad = client.get("/shortlists?trade_off=2", headers=_h(tokens, "staff"))
    assert bad.status_code == 422 and "trade_off" in bad.text


def test_statistics_and_reverse_question(keyed_app) -> None:
    client, tokens = keyed_app
    stats = client.get("/stats?k=5", headers=_h(tokens, "staff")).json()
    assert sum(stats["by_region"].values()) == sum(m["startups"] for m in stats["by_ministry"])
    assert {"by_segment", "by_size", "feedback"} <= set(stats)
    reverse = client.get("/suppliers/demo-s001/needs?k=5", headers=_h(tokens, "staff")).json()
    ranks = [d["rank"] for d in reverse["data"]]
    assert reverse["data"] and ranks == sorted(ranks) and reverse["name"] == "Nephelia Santé"
    assert client.get("/suppliers/nobody/needs", headers=_h(tokens, "staff")).status_code == 404


def test_a_start_up_is_found_by_its_name(keyed_app) -> None:
    """The reverse question starts from a name staff know, not an internal id."""
    client, tokens = keyed_app

    def names(q: str, **params: object) -> list[str]:
        resp = client.get("/suppliers", params={"q": q, **params}, headers=_h(tokens, "staff"))
        assert resp.status_code == 200, resp.text
        return [s["name"] for s in resp.json()["data"]]

    assert names("epidemos") == ["Épidémos"]  # accents and case aside
    assert names("SANTÉ")[:3] == ["Nephelia Santé", "Parolia Santé", "Traceo Santé"]  # a word of the name, in name order
    assert names("900000001") == ["Nephelia Santé"] and names("demo-s015") == ["Épidémos"]  # SIREN or id
    starts = names("ste")
    assert starts[0] == "Stérimed Services"  # a name that starts with it comes before one that only holds it
    assert len(names("en", limit=3)) == 3
    assert names("zzzz") == []
    for bad in ({"q": "é"}, {"q": "x" * 201}, {"q": "santé", "limit": 51}):
        resp = client.get("/suppliers", params=bad, headers=_h(tokens, "staff"))
        assert resp.status_code == 422, bad


def test_procurement_notice_and_sme_flags(keyed_app) -> None:
    client, tokens = keyed_app
    small = client.post("/match", json={"text": "téléconsultation", "amount": 60000, "k": 3}, headers=_h(tokens, "own")).json()
    assert small["procurement"]["direct_award_possible"] and "sans publicité" in small["procurement"]["message"]
    large = client.post("/match", json={"text": "téléconsultation", "amount": 450000}, headers=_h(tokens, "own")).json()
    assert not large["procurement"]["direct_award_possible"]
    assert client.post("/match", json={"text": "téléconsultation"}, headers=_h(tokens, "own")).json()["procurement"] is None
    assert all("is_sme" in r and "size" in r for r in small["results"])
    only_eti = client.post("/match", json={"text": "logiciel", "filters": {"sizes": ["eti"]}}, headers=_h(tokens, "own")).json()
    assert only_eti["results"] and all(r["size"] == "eti" and not r["is_sme"] for r in only_eti["results"])
    smes = client.post("/match", json={"text": "logiciel", "k": 50, "filters": {"sizes": ["pme"]}}, headers=_h(tokens, "own")).json()
    assert smes["results"] and all(r["is_sme"] for r in smes["results"])  # the PME filter keeps what the badge calls PME
    assert {r["size"] for r in smes["results"]} >= {"micro", "pme"}  # micro-enterprises are SMEs too
    bad = client.get("/needs/demo-n01/matches?sizes=geant", headers=_h(tokens, "own"))
    assert bad.status_code == 422 and "sizes" in bad.text


def test_feedback_becomes_graded_qrels(keyed_app) -> None:
    client, tokens = keyed_app
    staff = _h(tokens, "staff")
    for verdict in ("relevant", "contracted"):  # the latest verdict on a pair wins
        assert (
            client.post(
                "/feedback", json={"need_id": "demo-n02", "supplier_id": "demo-s002", "verdict": verdict, "rank": 2}, headers=staff
            ).status_code
            == 201
        )
    client.post("/feedback", json={"need_id": "demo-n02", "supplier_id": "demo-s003", "verdict": "not_relevant"}, headers=staff)
    client.post("/feedback", json={"need_id": "demo-n02", "supplier_id": "demo-s004", "verdict": "shortlisted"}, headers=staff)
    bad = client.post("/feedback", json={"need_id": "demo-n02", "supplier_id": "demo-s004", "verdict": "adored"}, headers=staff)
    assert bad.status_code == 422 and "verdict" in bad.text
    text = client.get("/feedback/qrels.tsv", headers=staff).text
    qrels = pd.read_csv(io.StringIO(text), sep="\t", dtype={"need_id": str, "supplier_id": str})
    assert list(qrels.columns) == ["need_id", "supplier_id", "relevance"]
    grades = {(r.need_id, r.supplier_id): r.relevance for r in qrels.itertuples()}
    assert grades[("demo-n02", "demo-s002")] == 3 and grades[("demo-n02", "demo-s003")] == 0 and grades[("demo-n02", "demo-s004")] == 2


def test_feedback_benchmark_feeds_the_learning_loop(keyed_app, tmp_path) -> None:
    from matcher.data.feedback import write_feedback_benchmark
    from matcher.evaluation.evaluate import Benchmark

    client, tokens = keyed_app
    client.post("/feedback", json={"need_id": "demo-n07", "supplier_id": "demo-s010", "verdict": "pitched"}, headers=_h(tokens, "staff"))
    n_needs, n_labels = write_feedback_benchmark(client.app.state.served.engine.catalogue, tmp_path / "fb")
    bench = Benchmark.load(tmp_path / "fb")
    assert len(bench.needs) == n_needs >= 1 and sum(len(v) for v in bench.qrels.values()) == n_labels
    assert bench.qrels["demo-n07"]["demo-s010"] == 2 and len(bench.suppliers) >= 80


def test_needs_import_keeps_good_rows_and_names_bad_ones(keyed_app) -> None:
    client, tokens = keyed_app
    staff = _h(tokens, "staff")
    before = client.get("/needs/demo-n03", headers=staff).json()
    csv = (
        "need_id,buyer_id,title,segment,amount\n"
        "csv-1,min-education,Plateforme de remédiation en mathématiques,numerique,80000\n"
        "csv-2,,Sans acheteur,,\n"
        "csv-3,min-education,Montant faux,numerique,beaucoup\n"
        "csv-4,min-education,Segment inconnu,spatial,\n"
    ).encode("utf-8")
    report = client.post("/needs/import?format=csv", content=csv, headers=staff).json()
    assert report["inserted"] == 1 and report["rejected"] == 3
    assert any("ligne 3" in e and "buyer_id" in e for e in report["errors"])
    assert any("ligne 4" in e and "amount" in e for e in report["errors"])
    assert any("ligne 5" in e and "segment" in e for e in report["errors"])
    assert client.get("/needs/csv-1", headers=staff).json()["amount"] == 80000
    assert client.get("/needs/demo-n03", headers=staff).json() == before
    assert client.post("/needs/import?format=exe", content=b"x", headers=staff).status_code == 422
    assert client.post("/needs/import?format=csv", content=b"", headers=staff).status_code == 422


def test_editing_a_need_re_ranks_it(keyed_app) -> None:
    """A recorded need's matches follow its text: the list is computed from what is stored now."""
    client, tokens = keyed_app
    h = _h(tokens, "staff")
    need = client.get("/needs/demo-n02", headers=h).json()
    before = [r["supplier_id"] for r in client.get("/needs/demo-n02/matches?k=3", headers=h).json()["results"]]
    edited = {
        "buyer_id": need["buyer_id"],
        "title": "Plateforme de téléconsultation pour nos centres de santé",
        "description": "Téléconsultation en EHPAD.",
    }
    assert client.put("/needs/demo-n02", json=edited, headers=h).status_code == 200
    after = client.get("/needs/demo-n02/matches?k=3", headers=h).json()["results"]
    assert [r["supplier_id"] for r in after] != before and after[0]["supplier_id"] == "demo-s001"  # Nephelia Santé
    client.put(
        "/needs/demo-n02",
        json={k: need[k] for k in ("buyer_id", "title", "description", "segment", "region", "cpv", "amount") if need.get(k) is not None},
        headers=h,
    )
