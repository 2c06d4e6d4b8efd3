"""MLflow registry: candidates, the promotion gate, and the service answering with the champion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from matcher.app import Engine, Served, sample_data_dir
from matcher.evaluation.evaluate import log_training_to_mlflow
from matcher.learning.registry import ModelRegistry, promotion_decision
from matcher.learning.rerank import LinearRanker, save_model
from matcher.settings import Settings
from service.app import create_app


def _comparison(delta: float, p: float, slice_delta: float = 0.0, slice_p: float = 1.0) -> dict:
    return {
        "all": {"mrr": {"low": 0.2, "high": 0.3, "delta": delta, "p_value": p}},
        "new-pair": {"mrr": {"low": 0.1, "high": 0.2, "delta": slice_delta, "p_value": slice_p}},
    }


def test_promotion_gate() -> None:
    assert not promotion_decision(_comparison(-0.02, 0.01)).promote
    refused = promotion_decision(_comparison(0.01, 0.2))
    assert not refused.promote and "non significatif" in refused.reason and "p = 0.200" in refused.reason
    accepted = promotion_decision(_comparison(0.03, 0.01, slice_delta=-0.05, slice_p=0.01))
    assert accepted.promote and "new-pair -0.050" in accepted.reason  # a significant slice loss is said


def _split_sample(tmp: Path) -> tuple[Path, Path]:
    """The sample benchmark cut in time: needs before June 2025 to train, the others to evaluate."""
    folder = sample_data_dir()
    needs = [json.loads(line) for line in (folder / "needs.jsonl").read_text(encoding="utf-8").splitlines()]
    qrels = (folder / "qrels.tsv").read_text(encoding="utf-8").splitlines()
    out = []
    for name, keep in (("early", lambda d: d < "2025-06-01"), ("late", lambda d: d >= "2025-06-01")):
        bench = tmp / name
        bench.mkdir()
        (bench / "suppliers.jsonl").write_bytes((folder / "suppliers.jsonl").read_bytes())
        chosen = [n for n in needs if keep(n["date"])]
        ids = {n["need_id"] for n in chosen}
        (bench / "needs.jsonl").write_text("".join(json.dumps(n, ensure_ascii=False) + "\n" for n in chosen), encoding="utf-8")
        (bench / "qrels.tsv").write_text("\n".join([qrels[0], *(q for q in qrels[1:] if q.split("\t")[0] in ids)]) + "\n", encoding="utf-8")
        out.append(bench)
    return out[0], out[1]


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "MATCHER_ENCODER": "hashing", "MATCHER_MODELS_DIR": str(tmp / "models")}


def _matcher(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "matcher.cli", "--data-dir", str(tmp / "data"), *args],
        capture_output=True,
        text=True,
        env=_env(tmp),
        timeout=300,
        cwd=tmp,
    )


@pytest.fixture
def registry_with_champion(tmp_path: Path):
    """A good model registered and made champion, then a worse one registered as candidate."""
    early, late = _split_sample(tmp_path)
    proc = _matcher(tmp_path, "train-reranker", str(early))
    assert proc.returncode == 0, proc.stderr
    assert "version 1, alias « candidate »" in proc.stdout
    settings = Settings(data_dir=tmp_path / "data", encoder="hashing", models_dir=tmp_path / "models")
    registry = ModelRegistry(settings.tracking_uri, settings.data_dir / "models" / "registry")
    registry.set_alias("champion", "1")
    good = registry.files("1")
    manifest = json.loads((good / "manifest.json").read_text())
    worse = LinearRanker.load(good / "model.json")
    worse.coef_ = -worse.coef_  # ranks the best candidates last
    bad_dir = tmp_path / "bad"
    save_model(bad_dir, worse, {**manifest, "version": "bad"})
    run_id = log_training_to_mlflow(bad_dir, {**manifest, "version": "bad"}, settings.tracking_uri, settings.data_dir / "mlartifacts")
    assert registry.register(run_id) == "2"
    return tmp_path, late, settings, registry


def test_promote_refuses_a_worse_candidate(registry_with_champion) -> None:
    tmp_path, late, settings, registry = registry_with_champion
    proc = _matcher(tmp_path, "promote", "--eval", str(late), "--ship")
    assert proc.returncode == 0, proc.stderr
    assert "non promu" in proc.stdout and "matcher-reranker v1 (champion)" in proc.stdout
    assert registry.version_of("champion") == "1" and registry.version_of("candidate") == "2"
    assert not (tmp_path / "models" / "reranker").exists()  # nothing shipped


def test_promote_refuses_a_benchmark_the_candidate_was_trained_on(registry_with_champion) -> None:
    tmp_path, _, _, _ = registry_with_champion
    early = tmp_path / "early"
    proc = _matcher(tmp_path, "promote", "--eval", str(early))
    assert proc.returncode != 0 and "time split" in proc.stderr


def test_service_answers_with_the_champion(registry_with_champion) -> None:
    _, _, settings, _ = registry_with_champion
    engine = Engine.open(settings)
    assert engine.ranker.reranker is not None
    with TestClient(create_app(settings, engine=engine)) as client:
        versions = client.get("/health").json()["versions"]
        assert versions["reranker"].startswith("matcher-reranker v1 (champion)")
        _, token = client.app.state.keys.create("tests", "staff")
        body = client.post("/match", json={"text": "téléconsultation", "k": 2}, headers={"Authorization": f"Bearer {token}"}).json()
        assert body["versions"]["reranker"] == versions["reranker"] and body["count"] == 2
    pinned = Engine.open(settings.model_copy(update={"reranker": "2"}))
    assert pinned.versions()["reranker"].startswith("matcher-reranker v2")


def test_a_promotion_reaches_the_served_engine(registry_with_champion) -> None:
    """After ``promote`` moves the alias, the reload swaps in an engine ranking with the new champion
    (a plain reload, for a catalogue change, keeps the loaded reranker)."""
    _, _, settings, registry = registry_with_champion
    served = Served(Engine.open(settings))
    first = served.engine
    assert first.versions()["reranker"].startswith("matcher-reranker v1 (champion)")
    registry.set_alias("champion", "2")
    assert served.reload().versions()["reranker"].startswith("matcher-reranker v1")
    promoted = served.reload(reload_reranker=True)
    assert promoted is served.engine and promoted.versions()["reranker"].startswith("matcher-reranker v2 (champion)")
    assert promoted.ranker is not first.ranker and first.versions()["reranker"].startswith("matcher-reranker v1")  # never changed in place
