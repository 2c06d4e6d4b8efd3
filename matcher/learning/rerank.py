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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from tqdm.auto import tqdm

from embeddings import Encoder
from embeddings.base import PROGRESS_THRESHOLD
from matcher.data.cpv import CpvVocabulary
from matcher.ranking.confidence import Confidence
from matcher.ranking.corpus import Corpus
from matcher.ranking.features import AWARD_FEATURES
from matcher.ranking.rank import FEATURES, Query, Ranker, RankingConfig
from matcher.ranking.regime import RegimeScorer

OBJECTIVES = ("pairwise", "pointwise")


class LinearRanker(BaseEstimator):
    """A linear scoring function of the features, fitted pairwise (RankNet-style) or pointwise.

    ``pairwise``: logistic regression on feature differences (relevant − non-relevant) of
    pairs drawn within each need; ``pointwise``: class-balanced logistic regression on the
    pairs themselves. Features are standardised; deterministic given ``random_state``.
    """

    def __init__(
        self,
        objective: str = "pairwise",
        C: float = 1.0,  # noqa: N803 - scikit-learn's name
        max_negatives: int = 50,
        random_state: int = 0,
        features: Sequence[str] = AWARD_FEATURES,
    ) -> None:
        self.objective = objective
        self.C = C
        self.max_negatives = max_negatives
        self.random_state = random_state
        #: the names of the columns of ``X`` (a subset of ``FEATURES``, in the order ``fit`` and scoring give them)
        self.features = features

    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray, sample_weight: np.ndarray | None = None) -> LinearRanker:
        """Fit on candidate features ``X`` (the columns ``features``), grades ``y`` (0 = not relevant) and need ids
        ``groups``; ``sample_weight`` (per row, constant within a need) weighs the needs, e.g. to balance sources."""
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective {self.objective!r} is not one of {', '.join(OBJECTIVES)}")
        unknown = [name for name in self.features if name not in FEATURES]
        if unknown:
            raise ValueError(f"features {unknown} are not computed by this version (it computes {list(FEATURES)})")
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        groups = np.asarray(groups)
        if X.ndim != 2 or len(X) != len(y) or len(y) != len(groups):
            raise ValueError(f"X, y and groups must have the same length, got {X.shape}, {y.shape}, {groups.shape}")
        if X.shape[1] != len(self.features):
            raise ValueError(f"X has {X.shape[1]} columns but the ranker reads {len(self.features)} features")
        weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if not (y > 0).any() or (y > 0).all():
            raise ValueError("y needs both relevant (grade > 0) and non-relevant candidates")
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        Z = (X - self.mean_) / self.scale_
        rng = np.random.default_rng(self.random_state)
        if self.objective == "pairwise":
            diffs, pair_weights = [], []
            for g in np.unique(groups):
                idx = np.flatnonzero(groups == g)
                for p in idx[y[idx] > 0]:
                    worse = idx[y[idx] < y[p]]
                    if len(worse) > self.max_negatives:
                        worse = rng.choice(worse, self.max_negatives, replace=False)
                    diffs.append(Z[p] - Z[worse])
                    pair_weights.append(np.full(len(worse), weight[p]))
            D = np.vstack(diffs)
            signs = np.where(rng.random(len(D)) < 0.5, 1.0, -1.0)  # both classes, no intercept needed
            model = LogisticRegression(C=self.C, fit_intercept=False, max_iter=2000)
            pw = np.concatenate(pair_weights)
            model.fit(D * signs[:, None], (signs > 0).astype(int), sample_weight=None if sample_weight is None else pw / pw.mean())
        else:
            model = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000)
            model.fit(Z, (y > 0).astype(int), sample_weight=None if sample_weight is None else weight / weight.mean())
        self.coef_ = model.coef_.ravel()
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(self.features, dtype=object)
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
    def to_dict(self) -> dict:
        if not hasattr(self, "coef_"):
            raise NotFittedError("cannot save an unfitted LinearRanker")
        return {
            "kind": "linear-ranker",
            "params": {k: v for k, v in self.get_params().items() if k != "features"},
            "features": list(self.features),
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "coef": self.coef_.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> LinearRanker:
        if data.get("kind") != "linear-ranker":
            raise ValueError(f"not a linear-ranker model (kind {data.get('kind')!r})")
        names = list(data["features"])
        unknown = [name for name in names if name not in FEATURES]
        if unknown:
            raise ValueError(f"the model reads features {unknown} that this version does not compute (it computes {list(FEATURES)})")
        if len(names) != len(data["coef"]):
            raise ValueError(f"the model names {len(names)} features but {len(data['coef'])} coefficients")
        model = cls(**data["params"], features=tuple(names))
        model.mean_ = np.asarray(data["mean"])
        model.scale_ = np.asarray(data["scale"])
        model.coef_ = np.asarray(data["coef"])
        model.n_features_in_ = len(model.coef_)
        model.feature_names_in_ = np.asarray(names, dtype=object)
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
    #: the benchmark (its position in the list given) of each row
    source: np.ndarray | None = None

    def columns(self, names: Sequence[str]) -> np.ndarray:
        """The columns ``names`` of ``X`` (which holds every feature of ``FEATURES``)."""
        return self.X[:, [FEATURES.index(name) for name in names]]

    def balanced_weights(self) -> np.ndarray:
        """A weight per row that gives each source benchmark the same total weight, shared equally by its needs."""
        if self.source is None:
            return np.ones(len(self.y))
        weight = np.zeros(len(self.y))
        sources = np.unique(self.source)
        for src in sources:
            rows = self.source == src
            weight[rows] = 1.0 / len(np.unique(self.groups[rows]))
        return weight * len(np.unique(self.groups)) / len(sources)


def training_set(
    benchmarks: Sequence,
    encoder: Encoder,
    cpv: CpvVocabulary | None = None,
    config: RankingConfig | None = None,
    progress: bool | None = None,
    cpv_model_for: Callable[[Any], Any] | None = None,
) -> TrainingSet:
    """Candidate features and grades of every labelled need of the benchmarks.

    ``cpv_model_for(benchmark)``: the text → CPV classifier of its ``cpv_predicted`` feature (one that
    never saw its needs: ``cpv_classifier.cross_fitted``); without it the feature stays 0.

    Needs whose relevant suppliers are all missed by the first stage teach nothing and are
    counted apart (the first stage's recall bounds what a reranker can do).
    """
    xs, ys, gs, ss = [], [], [], []
    n_needs = missed = 0
    for b_index, bench in enumerate(benchmarks):
        if bench.qrels is None:
            raise ValueError(f"{bench.folder}: a training benchmark needs qrels.tsv")
        corpus = Corpus(bench.suppliers, cpv)
        ranker = Ranker.build(corpus, encoder, config, progress=progress, cpv_model=cpv_model_for(bench) if cpv_model_for else None)
        needs = [n for n in bench.needs if n.need_id in bench.qrels]
        queries = [Query.from_need(n) for n in needs]
        show = len(queries) > PROGRESS_THRESHOLD if progress is None else progress
        bar = tqdm(total=len(queries), desc=f"candidats {Path(str(bench.folder)).name}", unit="besoin", disable=not show)
        for query, qvec in zip(queries, ranker.query_vectors(queries, progress=progress)):
            bar.update()
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
            ss.append(np.full(len(y), b_index))
        bar.close()
    if not xs:
        raise ValueError("no labelled need has a relevant supplier among its candidates")
    return TrainingSet(np.vstack(xs), np.concatenate(ys), np.concatenate(gs), n_needs, missed, np.concatenate(ss))


MODEL_FILE = "model.json"
#: the text regime's scorer, beside the award one (optional: without it the award scorer ranks every need)
TEXT_MODEL_FILE = "text-model.json"
MANIFEST_FILE = "manifest.json"


def save_model(
    folder: str | Path, model: LinearRanker, manifest: dict, text_model: LinearRanker | None = None, confidence: Confidence | None = None
) -> None:
    """Write ``model.json`` (the award regime), ``text-model.json`` (the text regime), ``confidence.joblib``
    (the calibrators, when given) and ``manifest.json`` (what they were trained on, with which encoder)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / MODEL_FILE)
    if text_model is not None:
        text_model.save(folder / TEXT_MODEL_FILE)
    if confidence is not None:
        confidence.save(folder)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))


def load_model(folder: str | Path, encoder_key: str) -> tuple[LinearRanker | RegimeScorer, dict]:
    """Read a saved reranker — a ``RegimeScorer`` when the folder holds a text-regime model or a confidence too;
    refuse it (``ValueError``) if trained on another encoder's features."""
    folder = Path(folder)
    if not (folder / MODEL_FILE).is_file():
        raise FileNotFoundError(f"pas de second étage dans {folder} ({MODEL_FILE} manque) : entraînez-en un avec `matcher train-reranker`")
    manifest = json.loads((folder / MANIFEST_FILE).read_text()) if (folder / MANIFEST_FILE).is_file() else {}
    trained_with = manifest.get("encoder")
    if trained_with != encoder_key:
        raise ValueError(
            f"le second étage de {folder} a été entraîné sur les vecteurs de {trained_with}, pas de {encoder_key} : "
            "réentraînez-le ou changez d'encodeur"
        )
    award = LinearRanker.load(folder / MODEL_FILE)
    text = LinearRanker.load(folder / TEXT_MODEL_FILE) if (folder / TEXT_MODEL_FILE).is_file() else None
    confidence = Confidence.load(folder)
    if text is None and confidence is None:
        return award, manifest
    return RegimeScorer(award, text, confidence), manifest
