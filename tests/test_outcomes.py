"""Outcomes: a list exported in month M, awards imported later, and what the lists led to (the funnel)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from matcher.app import Engine, outcomes
from matcher.barometer.store import BarometerStore
from matcher.cli import main
from matcher.data.feedback import write_feedback_benchmark
from matcher.data.lists import snapshots, stored_outcomes
from matcher.settings import Settings
from service.app import create_app

SANTE_SIRET = "11000201100044"  # an establishment of the health ministry (its agents sign in as min-sante)
OTHER_BUYER = "21750001600019"


def _award(i: int, buyer: str, holder_siren: str, date: str, amount: float = 50_000) -> dict:
    return {
        "id": f"2027-{i:04d}",
        "acheteur": {"id": buyer},
        "objet": f"Marché n° {i}",
        "codeCPV": "72000000",
        "montant": amount,
        "dateNotification": date,
        "datePublicationDonnees": "2027-05-01",
        "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": holder_siren + "00012"}}],
    }


@pytest.fixture
def served(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data", encoder="hashing", reranker="none")
    with TestClient(create_app(settings, engine=Engine.open(settings))) as client:
        client.app.state.agents.set(SANTE_SIRET, "buyer", "min-sante", "Ministère de la Santé", "test")
        staff = client.app.state.keys.create("Équipe", "staff")[1]
        buyer = client.app.state.keys.create("Acheteuse Santé", "buyer", "min-sante")[1]
        yield client, settings, {"Authorization": f"Bearer {staff}"}, {"Authorization": f"Bearer {buyer}"}


def test_a_list_sent_then_awards_imported_later_show_what_it_led_to(served, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client, settings, staff, buyer = served
    engine = client.app.state.served.engine
    assert client.get("/buyers/min-sante/shortlist/export?format=csv&k=5", headers=staff).status_code == 200
    [snap] = snapshots(engine.catalogue, "min-sante")  # the export is kept as sent
    assert snap.kind == "export-csv" and snap.actor.startswith("Équipe (staff:") and [e.rank for e in snap.entries] == [1, 2, 3, 4, 5]
    assert snap.versions["encoder"].startswith("hashing") and all(e.needs for e in snap.entries)
    first, second, *_ = snap.entries
    assert first.siren and second.siren  # the sample's start-ups carry their SIREN
    need = first.needs[0][0]
    feedback = client.post("/feedback", json={"supplier_id": first.supplier_id, "verdict": "pitched", "need_id": need}, headers=buyer)
    assert feedback.status_code == 201
    later = tmp_path / "decp-2027.json"
    later.write_text(
        json.dumps(
            {
                "marches": {
                    "marche": [
                        _award(
                            1, SANTE_SIRET[:9] + "00052", first.siren, "2027-03-01", 80_000
                        ),  # another establishment of the ministry: an outcome
                        _award(2, SANTE_SIRET, second.siren, "2026-01-15"),  # before the list was sent: not one
                        _award(3, OTHER_BUYER, second.siren, "2027-02-01"),  # another organisation's buyer: not one
                        _award(4, SANTE_SIRET, "552100554", "2027-02-01"),  # a start-up that was not listed: not one
                    ]
                }
            }
        ),
        encoding="utf-8",
    )
    store = BarometerStore(settings.barometer_path)
    store.import_files([later], today="2027-06-01")
    store.close()
    found = outcomes.detect_outcomes(settings, engine.catalogue)
    assert (found.snapshots, found.found, found.new) == (1, 1, 1)
    [outcome] = stored_outcomes(engine.catalogue, "min-sante")
    assert outcome.supplier_id == first.supplier_id and outcome.amount == 80_000
    assert outcome.delay_days == (outcome.notified - snap.at.date()).days > 0
    assert outcomes.detect_outcomes(settings, engine.catalogue).new == 0  # detecting again changes nothing
    [row] = outcomes.funnel(engine.catalogue, "min-sante")
    assert row == {
        "buyer_id": "min-sante",
        "lists": 1,
        "listed": 5,
        "pertinent": 1,
        "contacted": 1,
        "pitched": 1,
        "contracted": 1,
        "awarded": 1,
    }
    assert outcomes.funnel(engine.catalogue, "min-armees") == []  # another organisation sees none of it
    api = client.get("/outcomes/funnel", headers=buyer).json()
    assert api["stages"][-1] == "awarded" and api["data"] == [row]  # the buyer's own organisation
    [detected] = client.get("/outcomes?buyer_id=min-sante", headers=staff).json()["data"]
    assert (detected["supplier_id"], detected["amount"], detected["delay_days"]) == (first.supplier_id, 80_000, outcome.delay_days)
    armees = {"Authorization": f"Bearer {client.app.state.keys.create('Acheteur Armées', 'buyer', 'min-armees')[1]}"}
    assert client.get("/outcomes", headers=armees).json()["count"] == 0  # the wall: another organisation sees none of it
    assert client.get("/outcomes/funnel?buyer_id=min-sante", headers=armees).status_code == 404
    qrels = client.get("/feedback/qrels.tsv", headers=staff).text
    assert f"{need}\t{first.supplier_id}\t3" in qrels.splitlines()  # the award outranks the « pitched » verdict: a label for retraining
    bench = tmp_path / "feedback-bench"
    write_feedback_benchmark(engine.catalogue, bench)
    awarded = (bench / "slices.tsv").read_text(encoding="utf-8").splitlines()
    assert awarded[0] == "need_id\tslice" and {line.split("\t")[0] for line in awarded[1:]} == {n for n, _ in first.needs}
    assert main(["--data-dir", str(settings.data_dir), "barometer", "outcomes", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["detection"]["new"] == 0 and report["funnel"][0]["awarded"] == 1


def test_every_ministry_list_of_the_cross_export_is_kept(served) -> None:
    client, _, staff, _ = served
    assert client.get("/shortlists/export?format=xlsx&k=3", headers=staff).status_code == 200
    engine = client.app.state.served.engine
    kept = snapshots(engine.catalogue)
    assert {s.buyer_id for s in kept} == {b for b, _, _ in engine.catalogue.buyers()} and {s.kind for s in kept} == {"export-xlsx"}
    assert outcomes.detect_outcomes(engine.settings, engine.catalogue).found == 0  # no award imported yet: nothing, no error
