"""Matching public buyers' needs to start-ups: catalogue, index, ranking, shortlists, evaluation.

The public surface: ``Settings``, ``Engine`` (catalogue + index + ranker, what the CLI and the
service use), ``Ranker`` / ``Query`` / ``Filters`` / ``RankingConfig`` (ranking), the record
types, and ``Benchmark`` / ``run_benchmark`` (evaluation). Nothing heavy is loaded at import.
"""

from matcher.app import Engine, MatchResult, NotFoundError
from matcher.data.schema import Label, Need, Reference, Supplier
from matcher.evaluation.evaluate import Benchmark, run_benchmark
from matcher.ranking.rank import Filters, Query, Ranker, RankingConfig
from matcher.settings import Settings

__all__ = [
    "Benchmark",
    "Engine",
    "Filters",
    "Label",
    "MatchResult",
    "Need",
    "NotFoundError",
    "Query",
    "Ranker",
    "RankingConfig",
    "Reference",
    "Settings",
    "Supplier",
    "run_benchmark",
]
