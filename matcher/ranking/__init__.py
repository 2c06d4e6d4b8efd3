"""Stage 4 — ranking: from a need to explained, balanced lists of start-ups.

``corpus`` (each supplier's evidence texts and facts), ``lexical`` (French BM25), ``rank``
(``Ranker``: dense + lexical + fact candidates, features, the scorer — hand-set weights or an
injected estimator), ``explain`` (the evidence and reasons, in French), ``shortlist`` (a ministry's
list over its needs), ``exposure`` (balancing start-ups across lists), ``procurement`` (the
innovative-purchase notice).
"""

from matcher.ranking.corpus import Corpus
from matcher.ranking.explain import Explanation, explain
from matcher.ranking.rank import FEATURES, Filters, Match, Query, Ranker, RankingConfig
from matcher.ranking.shortlist import ShortlistEntry, aggregate

__all__ = [
    "FEATURES",
    "Corpus",
    "Explanation",
    "Filters",
    "Match",
    "Query",
    "Ranker",
    "RankingConfig",
    "ShortlistEntry",
    "aggregate",
    "explain",
]
