"""Learned second stage: a ranker fitted on labelled (need, candidate) pairs.

The first stage (``Ranker``) proposes candidates and computes their ``FEATURES``; a fitted
``LinearRanker`` scores them instead of the hand-set weights. It follows scikit-learn's
estimator contract: ``__init__`` stores parameters, ``fit(X, y, groups)`` learns ``coef_``
and returns ``self``, and using it before ``fit`` raises ``NotFittedError``.

Training pairs come from benchmark folders that are *earlier in time* than anything the
model is reported on (see ``matcher decp-bench``): negatives are the other candidates of the
same need.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from embeddings import Encoder
from matcher.data.cpv import CpvVocabulary
from matcher.ranking.corpus import Corpus
from matcher.ranking.rank import FEATURES, Query, Ranker, RankingConfig

OBJECTIVES = ("pairwise", "pointwise")


class LinearRanker(BaseEstimator):
    """A linear scoring function of the features, fitted pairwise (RankNet-style) or pointwise.

    ``pairwise``: logistic regression on feature differences (relevant − non-relevant) of
    pairs drawn within each need; ``pointwise``: class-balanced logistic regression on the
    pairs themselves. Features are standardised; deterministic given ``random_state``.
    """

    def __init__(self, objective: str = "pairwise", C: float = 1.0, max_negatives: int = 50, random_state: int = 0) -> None:
        self.objective = objective
        self.C = C
        self.max_negatives = max_negatives
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray) -> LinearRanker:
        """Fit on candidate features ``X``, grades ``y`` (0 = not relevant) and need ids ``groups``."""
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective {self.objective!r} is not one of {', '.join(OBJECTIVES)}")
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        groups = np.asarray(groups)
        if X.ndim != 2 or len(X) != len(y) or len(y) != len(groups):
            raise ValueError(f"X, y and groups must have the same length, got {X.shape}, {y.shape}, {groups.shape}")
        if not (y > 0).any() or (y > 0).all():
            raise ValueError("y needs both relevant (grade > 0) and non-relevant candidates")
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        Z = (X - self.mean_) / self.scale_
        rng = np.random.default_rng(self.random_state)
        if self.objective == "pairwise":
            diffs = []
            for g in np.unique(groups):
                idx = np.flatnonzero(groups == g)
                for p in idx[y[idx] > 0]:
                    worse = idx[y[idx] < y[p]]
                    if len(worse) > self.max_negatives:
                        worse = rng.choice(worse, self.max_negatives, replace=False)
                    diffs.append(Z[p] - Z[worse])
            D = np.vstack(diffs)
            signs = np.where(rng.random(len(D)) < 0.5, 1.0, -1.0)  # both classes, no intercept needed
            model = LogisticRegression(C=self.C, fit_intercept=False, max_iter=2000)
            model.fit(D * signs[:, None], (signs > 0).astype(int))
        else:
            model = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000)
            model.fit(Z, (y > 0).astype(int))
        self.coef_ = model.coef_.ravel()
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """A score per row: higher ranks first."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("this LinearRanker is not fitted yet: call fit(X, y, groups) first")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"expected {self.n_features_in_} features per row, got shape {X.shape}")
        return ((X - self.mean_) / self.scale_) @ self.coef_

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.decision_function(X)

    # -- persistence (plain JSON: readable, no pickle) -----------------------------------------
    def to_dict(self, feature_names: Sequence[str] = FEATURES) -> dict:
        if not hasattr(self, "coef_"):
            raise NotFittedError("cannot save an unfitted LinearRanker")
        return {
            "kind": "linear-ranker",
            "params": self.get_params(),
            "features": list(feature_names),
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "coef": self.coef_.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict, feature_names: Sequence[str] = FEATURES) -> LinearRanker:
        if data.get("kind") != "linear-ranker":
            raise ValueError(f"not a linear-ranker model (kind {data.get('kind')!r})")
        if list(data["features"]) != list(feature_names):
            raise ValueError(f"the model was trained on features {data['features']}, this version computes {list(feature_names)}")
        model = cls(**data["params"])
        model.mean_ = np.asarray(data["mean"])
        model.scale_ = np.asarray(data["scale"])
        model.coef_ = np.asarray(data["coef"])
        model.n_features_in_ = len(model.coef_)
        return model

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: str | Path) -> LinearRanker:
        return cls.from_dict(json.loads(Path(path).read_text()))


@dataclass
class TrainingSet:
    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    n_needs: int
    n_needs_without_positive: int


def training_set(
    benchmarks: Sequence,
    encoder: Encoder,
    cpv: CpvVocabulary | None = None,
    config: RankingConfig | None = None,
    progress: bool | None = None,
) -> TrainingSet:
    """Candidate features and grades of every labelled need of the benchmarks.

    Needs whose relevant suppliers are all missed by the first stage teach nothing and are
    counted apart (the first stage's recall bounds what a reranker can do).
    """
    xs, ys, gs = [], [], []
    n_needs = missed = 0
    for b_index, bench in enumerate(benchmarks):
        if bench.qrels is None:
            raise ValueError(f"{bench.folder}: a training benchmark needs qrels.tsv")
        corpus = Corpus(bench.suppliers, cpv)
        ranker = Ranker.build(corpus, encoder, config, progress=progress)
        needs = [n for n in bench.needs if n.need_id in bench.qrels]
        queries = [Query.from_need(n) for n in needs]
        for query, qvec in zip(queries, ranker.query_vectors(queries, progress=progress)):
            cand, X = ranker.candidate_features(query, qvec)
            labels = bench.qrels[query.need_id]
            y = np.asarray([labels.get(corpus.suppliers[i].supplier_id, 0) for i in cand])
            n_needs += 1
            if not (y > 0).any():
                missed += 1
                continue
            xs.append(X)
            ys.append(y)
            gs.append(np.full(len(y), f"{b_index}:{query.need_id}", dtype=object))
    if not xs:
        raise ValueError("no labelled need has a relevant supplier among its candidates")
    return TrainingSet(np.vstack(xs), np.concatenate(ys), np.concatenate(gs), n_needs, missed)


MODEL_FILE = "model.json"
MANIFEST_FILE = "manifest.json"


def save_model(folder: str | Path, model: LinearRanker, manifest: dict) -> None:
    """Write ``model.json`` and ``manifest.json`` (what it was trained on, with which encoder)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / MODEL_FILE)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))


def load_model(folder: str | Path, encoder_key: str) -> tuple[LinearRanker, dict]:
    """Read a saved reranker; refuse it (``ValueError``) if trained on another encoder's features."""
    folder = Path(folder)
    if not (folder / MODEL_FILE).is_file():
        raise FileNotFoundError(f"no reranker in {folder} (missing {MODEL_FILE}); train one with `matcher train-reranker`")
    manifest = json.loads((folder / MANIFEST_FILE).read_text()) if (folder / MANIFEST_FILE).is_file() else {}
    trained_with = manifest.get("encoder")
    if trained_with != encoder_key:
        raise ValueError(
            f"the reranker in {folder} was trained on {trained_with} features, not {encoder_key}: retrain it or change the encoder"
        )
    return LinearRanker.load(folder / MODEL_FILE), manifest
