"""The application layer — what the edges (the CLI, the HTTP routers, the notebooks) call.

``engine`` (``Engine``: the catalogue, the encoder, the published index and the ranker wired
together; matching, shortlists, the reverse question, statistics; ``refresh`` brings a new
version in beside the served one), ``export`` (CSV and XLSX files staff open).
"""

from matcher.app.engine import BatchTooLarge, Engine, MatchResult, NotFoundError, Overloaded, load_sample, sample_data_dir
from matcher.learning.models import open_encoder, open_registry, open_reranker

__all__ = [
    "BatchTooLarge",
    "Engine",
    "MatchResult",
    "NotFoundError",
    "Overloaded",
    "load_sample",
    "open_encoder",
    "open_registry",
    "open_reranker",
    "sample_data_dir",
]
