"""How sure a match is: a calibrated probability that it is pertinent, and a level people read.

The scorer's score orders the candidates of one need, but says nothing across needs: the best
match of a nonsense need still ranks first. ``Confidence`` turns what a match has in absolute
terms — its score and rank, its best cosine (relative to the other candidates, raw and
corrected for hubness), its BM25 — into a probability that it is pertinent, with a calibrator fitted per regime on labelled needs held out
from the scorer's training (``matcher.learning.calibration``), and three levels for people:
``forte`` (p ≥ the regime's ``strong`` threshold, and its own text matches the need: its
cosine or its BM25 at least the lower quartile of pertinent matches' — buyer history alone never
makes a match ``forte``), ``possible`` (p ≥ ``possible``), ``faible``.
A ranking has a *clear match* when at least one of its matches is ``forte``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from matcher.ranking.regime import regime_of

if TYPE_CHECKING:  # pragma: no cover
    from matcher.ranking.rank import Match

#: what the calibrator reads of a match: the scorer's score, its reciprocal rank, then these features
#: (its textual evidence, relative to the need's other candidates and absolute; no history feature)
CONFIDENCE_FEATURES = ("score", "reciprocal_rank", "dense", "lexical", "dense_raw", "dense_hub", "lexical_raw")
#: each regime's columns. An award need also says how many suppliers compete for it (those with a
#: code in its CPV divisions: more of them, each less likely the winner), which varies from need to
#: need in training and grows with the catalogue served; a text need's count would be the whole
#: catalogue, one value per training benchmark, telling the benchmarks apart rather than the needs
REGIME_CONFIDENCE_FEATURES = {"award": (*CONFIDENCE_FEATURES, "competitors"), "text": CONFIDENCE_FEATURES}
#: the features whose floors a ``forte`` match must reach one of (its text must match the need)
TEXT_EVIDENCE = ("dense_raw", "lexical_raw")
LEVELS = ("forte", "possible", "faible")
CONFIDENCE_FILE = "confidence.joblib"


@dataclass
class RegimeConfidence:
    """The calibrator of one regime and the thresholds of its levels (chosen on held-out needs)."""

    calibrator: Any  # a fitted classifier with predict_proba over CONFIDENCE_FEATURES (CalibratedClassifierCV)
    strong: float
    possible: float
    report: dict[str, Any]  # how it was fitted and measured
    #: per TEXT_EVIDENCE feature, the lower quartile of the pertinent held-out matches': a match under
    #: all of them has no textual evidence of its own and is at most ``possible``, whatever its history
    text_floor: dict[str, float] | None = None

    @property
    def features(self) -> tuple[str, ...]:
        """The columns this calibrator was fitted on (calibrators saved before ``competitors`` lack it)."""
        return tuple(self.report.get("features", CONFIDENCE_FEATURES))

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        """The calibrated probability of each row of ``X`` (``CONFIDENCE_FEATURES`` columns)."""
        if len(X) == 0:
            return np.zeros(0)
        X = np.asarray(X, dtype=np.float64)
        compiled = self._compiled
        if compiled is None:
            return np.asarray(self.calibrator.predict_proba(X)[:, 1], dtype=np.float64)
        mean, scale, coef, intercept, a, b = compiled
        decision = ((X[:, None, :] - mean) / scale * coef).sum(axis=2) + intercept  # rows × folds
        return np.asarray((1.0 / (1.0 + np.exp(a * decision + b))).mean(axis=1), dtype=np.float64)

    @functools.cached_property
    def _compiled(self) -> tuple[np.ndarray, ...] | None:
        """The calibrator as arrays (``compile_calibrator``), built on first use; not saved."""
        return compile_calibrator(self.calibrator)

    def level(self, probability: float, features: dict[str, float] | None = None) -> str:
        if probability >= self.strong and (features is None or self.text_matches(features)):
            return "forte"
        return "possible" if probability >= self.possible else "faible"

    def text_matches(self, features: dict[str, float]) -> bool:
        """Whether the match's own text evidence reaches one of the floors (always, without floors)."""
        floor = self.text_floor or {}
        return not floor or any(features.get(name, 0.0) >= value for name, value in floor.items())


def compile_calibrator(calibrator: Any) -> tuple[np.ndarray, ...] | None:
    """The arrays of a fitted ``CalibratedClassifierCV`` (sigmoid, binary) over a scaler + logistic
    regression pipeline, so that one ranking's probabilities cost a few NumPy operations instead of
    scikit-learn's per-call validation (~10 ms for ten matches); ``None`` for any other calibrator,
    which is then called as it is. Each fold's probability is ``1 / (1 + exp(a·d + b))`` of its
    decision ``d``; the calibrator averages them (what ``predict_proba`` computes)."""
    try:
        folds = calibrator.calibrated_classifiers_
        if calibrator.method != "sigmoid" or len(calibrator.classes_) != 2:
            return None
        parts = []
        for fold in folds:
            scaler, model = fold.estimator.named_steps["standardscaler"], fold.estimator.named_steps["logisticregression"]
            (sigmoid,) = fold.calibrators
            parts.append(
                (scaler.mean_, scaler.scale_, model.coef_.ravel(), float(model.intercept_[0]), float(sigmoid.a_), float(sigmoid.b_))
            )
    except (AttributeError, KeyError, ValueError, TypeError):
        return None
    mean, scale, coef, intercept, a, b = (np.asarray(values, dtype=np.float64) for values in zip(*parts))
    return mean, scale, coef, intercept, a, b


def confidence_matrix(
    scores: Sequence[float], ranks: Sequence[int], features: Sequence[dict[str, float]], names: Sequence[str] = CONFIDENCE_FEATURES
) -> np.ndarray:
    """The calibrator's input for matches: their scores, reciprocal ranks and the other columns ``names`` lists."""
    rows = [[s, 1.0 / max(r, 1), *(f[name] for name in names[2:])] for s, r, f in zip(scores, ranks, features)]
    return np.asarray(rows, dtype=np.float64).reshape(len(scores), len(names))


class Confidence:
    """The calibrated confidence of each regime that has one."""

    def __init__(self, regimes: dict[str, RegimeConfidence]) -> None:
        self.regimes = regimes

    def for_need(self, cpv: list[str]) -> RegimeConfidence | None:
        return self.regimes.get(regime_of(cpv))

    def assess(self, matches: Sequence[Match], cpv: list[str]) -> None:
        """Set ``probability`` and ``level`` of each match of one need (left unset without a calibrator for its regime)."""
        regime = self.for_need(cpv)
        if regime is None or not matches:
            return
        probabilities = regime.probabilities(
            confidence_matrix([m.score for m in matches], [m.rank for m in matches], [m.features for m in matches], regime.features)
        )
        for match, p in zip(matches, probabilities.tolist()):
            match.probability = round(p, 4)
            match.level = regime.level(p, match.features)

    def save(self, folder: str | Path) -> Path:
        import joblib

        path = Path(folder) / CONFIDENCE_FILE
        joblib.dump({name: {k: v for k, v in vars(r).items() if not k.startswith("_")} for name, r in self.regimes.items()}, path)
        return path

    @classmethod
    def load(cls, folder: str | Path) -> Confidence | None:
        """The confidence saved in a reranker folder, or ``None`` when it holds none."""
        path = Path(folder) / CONFIDENCE_FILE
        if not path.is_file():
            return None
        import joblib

        return cls({name: RegimeConfidence(**fields) for name, fields in joblib.load(path).items()})


def clear_match(levels: Sequence[str]) -> bool | None:
    """Whether a ranking whose matches have these levels holds a clear match: a ``forte`` one
    (``None`` when its matches carry no level: no calibrator; ``False`` for an empty ranking)."""
    if not levels:
        return False
    if all(level == "" for level in levels):
        return None
    return "forte" in levels
