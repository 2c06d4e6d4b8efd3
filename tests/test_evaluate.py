"""`matcher evaluate`: the JSON contract, the TREC run, unlabelled benchmarks, MLflow logging."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from matcher.app import sample_data_dir


def _matcher(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MATCHER_ENCODER": "hashing"}
    return subprocess.run(
        [sys.executable, "-m", "matcher.cli", "--data-dir", str(tmp / "data"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp,
    )


@pytest.fixture
def bench(tmp_path: Path) -> Path:
    folder = tmp_path / "bench"
    folder.mkdir()
    for name in ("suppliers.jsonl", "needs.jsonl", "qrels.tsv"):
        shutil.copy(sample_data_dir() / name, folder / name)
    needs = [json.loads(line)["need_id"] for line in (folder / "needs.jsonl").read_text().splitlines()]
    (folder / "slices.tsv").write_text("need_id\tslice\n" + "".join(f"{n}\t{'early' if i < 12 else 'late'}\n" for i, n in enumerate(needs)))
    return folder


def test_json_contract_and_run_file(tmp_path: Path, bench: Path) -> None:
    run_file = tmp_path / "run.trec"
    proc = _matcher(tmp_path, "evaluate", str(bench), "--json", "--run-out", str(run_file))
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)  # exactly one JSON object on stdout
    assert {"metrics", "n_needs", "config"} <= set(payload)
    assert set(payload["metrics"]) == {"all", "early", "late"}
    for values in payload["metrics"].values():
        assert set(values) == {"mrr", "ndcg@10", "recall@10", "recall@50"}
        assert all(0.0 <= v <= 1.0 for v in values.values())
    labelled = {line.split("\t")[0] for line in (bench / "qrels.tsv").read_text().splitlines()[1:] if int(line.split("\t")[2]) > 0}
    assert payload["n_needs"] == len(labelled)
    assert payload["metrics"]["all"]["mrr"] > 0.3  # the sample labels are findable
    assert set(payload["baseline"]["bm25"]["metrics"]) == {"all", "early", "late"}
    assert payload["config"]["encoder"] == "hashing"
    for name, per_metric in payload["intervals"].items():
        for metric, (low, high) in per_metric.items():
            assert low <= payload["metrics"][name][metric] <= high
    assert 0 < payload["versus_bm25"]["all"]["mrr"]["p_value"] <= 1
    assert payload["extra_metrics"]["all"]["recall@100"] >= payload["metrics"]["all"]["recall@50"]
    lines = run_file.read_text().splitlines()
    need_id, q0, supplier, rank, score, tag = lines[0].split(" ")
    assert q0 == "Q0" and rank == "1" and tag == "matcher" and float(score)
    assert len({line.split()[0] for line in lines}) == 25
    assert payload["mlflow_run_id"]


def test_mlflow_run_is_logged(tmp_path: Path, bench: Path) -> None:
    proc = _matcher(tmp_path, "evaluate", str(bench), "--json")
    assert proc.returncode == 0, proc.stderr
    run_id = json.loads(proc.stdout)["mlflow_run_id"]
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'data' / 'mlflow.sqlite'}")
    run = client.get_run(run_id)
    assert run.data.metrics["all.mrr"] == pytest.approx(json.loads(proc.stdout)["metrics"]["all"]["mrr"])
    assert "bm25.all.mrr" in run.data.metrics and run.data.params["encoder"] == "hashing"
    assert run.info.run_name.startswith(f"{bench.name} · hashing · ")  # what was measured, not two random words
    assert client.get_experiment(run.info.experiment_id).tags["mlflow.experimentKind"] == "custom_model_development"  # not the GenAI view
    assert {a.path for a in client.list_artifacts(run_id)} >= {"run.trec", "bm25.trec", "result.json", "plots"}
    assert {a.path for a in client.list_artifacts(run_id, "plots")} == {"plots/recall_at_k.png", "plots/mrr_by_slice.png"}
    assert (tmp_path / "data" / "mlartifacts").is_dir()  # artefacts beside the store, not in ./mlruns
    assert not (tmp_path / "mlruns").exists()


def test_benchmark_without_qrels_is_ranked_not_scored(tmp_path: Path, bench: Path) -> None:
    (bench / "qrels.tsv").unlink()
    run_file = tmp_path / "run.trec"
    proc = _matcher(tmp_path, "evaluate", str(bench), "--json", "--no-mlflow", "--run-out", str(run_file))
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["metrics"] is None and payload["n_needs"] == 25
    assert len({line.split()[0] for line in run_file.read_text().splitlines()}) == 25


def test_missing_benchmark_folder_is_a_clear_error(tmp_path: Path) -> None:
    proc = _matcher(tmp_path, "evaluate", str(tmp_path / "nope"), "--json")
    assert proc.returncode == 2 and "not a benchmark folder" in proc.stderr and proc.stdout == ""
