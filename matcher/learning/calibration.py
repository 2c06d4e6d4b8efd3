"""Fitting the calibrated confidence of a regime (``matcher.ranking.confidence``) and measuring it.

The calibrator must learn on scores the scorer did not fit: the training needs are cut into
``folds`` groups of needs; a scorer fitted on the other folds scores each fold (out-of-fold
scores, as in stacking). The ``top`` best candidates of every need (what people see) then train
a standardised logistic regression on the regime's ``REGIME_CONFIDENCE_FEATURES`` inside scikit-learn's ``CalibratedClassifierCV``
(sigmoid, i.e. Platt scaling: a few thousand needs are too few for isotonic steps to be stable).
The level thresholds are chosen on the same held-out predictions, cross-validated once more:
``forte`` where at least ``STRONG_PRECISION`` (per regime) of the matches above it (among those with textual
evidence: see ``RegimeConfidence.text_floor``) are pertinent, ``possible`` where at least
``POSSIBLE_PRECISION`` are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from matcher.evaluation.metrics import expected_calibration_error
from matcher.ranking.confidence import REGIME_CONFIDENCE_FEATURES, TEXT_EVIDENCE, RegimeConfidence
from matcher.ranking.features import FEATURES

#: the share of pertinent matches a level promises, per regime. Award labels mark only the winner of
#: each contract among the suppliers able to do it, so their measured precision understates
#: pertinence (a top-1 award match is pertinent in ~1 need of 4 at best): their targets are lower.
STRONG_PRECISION = {"text": 0.5, "award": 0.3}
POSSIBLE_PRECISION = {"text": 0.2, "award": 0.1}
#: past this many training candidates, fitting shows a bar over its folds (unless told otherwise)
PROGRESS_ROWS = 100_000
#: the grid the thresholds are chosen on
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.05, 0.96, 0.01))


def _ranks(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """1-based rank of each row's score within its group (best first; ties keep the rows' order)."""
    _, group_ids = np.unique(groups, return_inverse=True)
    order = np.lexsort((-scores, group_ids))
    sorted_groups = group_ids[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)])) + 1
    return rank


def _top_rows(scores: np.ndarray, groups: np.ndarray, top: int) -> np.ndarray:
    """Indices of the ``top`` best-scored rows of each group, sorted."""
    return np.flatnonzero(_ranks(scores, groups) <= top)


def _threshold(p: np.ndarray, y: np.ndarray, precision: float) -> float:
    """The lowest threshold of the grid above which at least ``precision`` of the matches are pertinent."""
    for t in THRESHOLDS:
        above = p >= t
        if above.sum() >= 10 and y[above].mean() >= precision:
            return float(t)
    return 1.0  # never reached: no match gets this level


def fit_confidence(
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    scorer: Any,
    *,
    sample_weight: np.ndarray | None = None,
    folds: int = 5,
    top: int = 10,
    regime: str = "text",
    progress: bool | None = None,
) -> RegimeConfidence:
    """Fit the confidence of one regime on its training candidates (``X``: every column of ``FEATURES``).

    ``scorer``: the regime's estimator (a ``LinearRanker`` and its ``features``), cloned and fitted
    per fold for the out-of-fold scores (a bar over the folds with ``progress``; by default past
    ``PROGRESS_ROWS`` candidates)."""
    X, y, groups = np.asarray(X, dtype=np.float64), np.asarray(y), np.asarray(groups)
    columns = [FEATURES.index(name) for name in scorer.features]
    oof = np.zeros(len(y))
    n_groups = len(np.unique(groups))
    splits = GroupKFold(n_splits=min(folds, n_groups)).split(X, y, groups)
    show = len(y) > PROGRESS_ROWS if progress is None else progress
    for train, held in tqdm(splits, total=min(folds, n_groups), desc=f"confiance {regime} : plis", unit="pli", disable=not show):
        model = clone(scorer)
        weight = None if sample_weight is None else sample_weight[train]
        model.fit(X[train][:, columns], y[train], groups[train], weight)
        oof[held] = model.decision_function(X[held][:, columns])
    rows = _top_rows(oof, groups, top)
    rank = _ranks(oof[rows], groups[rows])
    names = REGIME_CONFIDENCE_FEATURES[regime]
    Z = np.column_stack([oof[rows], 1.0 / rank, X[rows][:, [FEATURES.index(n) for n in names[2:]]]])
    label = (y[rows] > 0).astype(int)
    base = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    calibrator = CalibratedClassifierCV(base, method="sigmoid", cv=5)
    held_p = cross_val_predict(
        calibrator, Z, label, groups=groups[rows], cv=GroupKFold(n_splits=min(folds, n_groups)), method="predict_proba"
    )[:, 1]
    calibrator.fit(Z, label)
    text = X[rows][:, [FEATURES.index(n) for n in TEXT_EVIDENCE]]
    floor = {name: float(np.quantile(text[label == 1, i], 0.25)) for i, name in enumerate(TEXT_EVIDENCE)} if label.any() else {}
    has_text = np.any(text >= np.asarray([floor[n] for n in TEXT_EVIDENCE]), axis=1) if floor else np.ones(len(label), bool)
    # the forte threshold is chosen among the matches that may be forte: those whose text matches
    strong = _threshold(held_p[has_text], label[has_text], STRONG_PRECISION[regime])
    possible = _threshold(held_p, label, POSSIBLE_PRECISION[regime])
    best = _top_rows(held_p, groups[rows], 1)  # each need's best match
    report = {
        "method": "sigmoid (Platt), CalibratedClassifierCV(LogisticRegression, cv=5)",
        "features": list(names),
        "needs": n_groups,
        "matches": int(len(rows)),
        "top": top,
        "folds": folds,
        "held_out": "out-of-fold scorer scores; probabilities cross-validated by need",
        "ece": round(expected_calibration_error(held_p, label), 4),
        "ece_best_match": round(expected_calibration_error(held_p[best], label[best]), 4),
        "thresholds": {"forte": strong, "possible": possible},
        "regime": regime,
        "precision_targets": {"forte": STRONG_PRECISION[regime], "possible": POSSIBLE_PRECISION[regime]},
        "text_floor": {k: round(v, 4) for k, v in floor.items()},
        "share_forte_best_match": round(float(((held_p[best] >= strong) & has_text[best]).mean()), 4),
        "precision_forte_best_match": _rate(label[best][(held_p[best] >= strong) & has_text[best]]),
    }
    return RegimeConfidence(calibrator, strong, possible, report, floor)


def _rate(values: np.ndarray) -> float | None:
    return round(float(values.mean()), 4) if len(values) else None
