"""Which scorer ranks a query: one per regime, by what the need carries.

A need with CPV codes is in the ``award`` regime: the facts learnt from award history (CPV
agreement, buyers served, amounts) apply, and the scorer fitted on award needs ranks it. A need
of free text only — what a buyer types, a ministry problem, a start-up call — is in the ``text``
regime: those facts are absent, and a scorer fitted on text-only needs (its own features, see
``TEXT_FEATURES``) ranks it. Each scorer is a fitted scikit-learn estimator with
``decision_function`` (and ``feature_names_in_``); a regime without one gets the hand-set weights.
A ``RegimeScorer`` also carries the calibrated confidence of its matches (``ranking.confidence``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from matcher.ranking.confidence import Confidence

REGIMES = ("award", "text")


def regime_of(cpv: list[str]) -> str:
    """``award`` when the need names CPV codes, else ``text``."""
    return "award" if cpv else "text"


class RegimeScorer:
    """The fitted scorer of each regime (``None``: the hand-set weights for that regime)."""

    def __init__(self, award: Any = None, text: Any = None, confidence: Confidence | None = None) -> None:
        self.award = award
        self.text = text
        #: the calibrated confidence of the matches (``ranking.confidence``), when fitted
        self.confidence = confidence

    def for_regime(self, regime: str) -> Any:
        if regime not in REGIMES:
            raise ValueError(f"regime {regime!r} is not one of {', '.join(REGIMES)}")
        return self.award if regime == "award" else self.text

    def __repr__(self) -> str:
        return f"RegimeScorer(award={type(self.award).__name__ if self.award is not None else None}, text={type(self.text).__name__ if self.text is not None else None})"


def scorer_for(reranker: Any, cpv: list[str]) -> Any:
    """The estimator that scores a need with these CPV codes: the regime's one of a ``RegimeScorer``,
    else ``reranker`` itself (one estimator for every need, or ``None``: the hand-set weights)."""
    if isinstance(reranker, RegimeScorer):
        return reranker.for_regime(regime_of(cpv))
    return reranker
