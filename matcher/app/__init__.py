"""The application layer — what the edges (the CLI, the HTTP routers, the notebooks) call.

One module per group of use cases, each a function of an ``Engine`` (or of the settings):

- ``engine``: ``Engine`` (catalogue, encoder, published index and ranker wired together;
  ``refresh`` brings a new version in beside the served one) and ``Served`` (the atomic swap);
- ``matching``: a need's explained ranking (free text, batch, recorded need), the reverse question;
- ``shortlists``: a buyer's list, every ministry's balanced lists, their statistics;
- ``feedback``: verdicts recorded, listed, exported as qrels;
- ``imports`` / ``export``: files into the catalogue, shortlists into CSV and XLSX;
- ``indexing``: the published index kept in step with the catalogue;
- ``learning``: evaluate, train, promote; ``ops``: keys, backup and restore;
- ``barometer``: the DECP imported for the share of purchases won by innovative companies;
  ``outcomes``: the lists sent kept as snapshots, the awards they led to, the funnel;
- ``vocabulary``: the records, queries and rules the edges speak (re-exported types).
"""

from matcher.app.catalogue import open_catalogue
from matcher.app.engine import Engine, Served
from matcher.app.errors import BatchTooLarge, NotFoundError, Overloaded
from matcher.app.matching import MatchResult
from matcher.app.sample import load_sample, sample_data_dir
from matcher.learning.models import open_cpv_classifier, open_encoder, open_registry, open_reranker

__all__ = [
    "BatchTooLarge",
    "Engine",
    "MatchResult",
    "NotFoundError",
    "Overloaded",
    "Served",
    "load_sample",
    "open_catalogue",
    "open_encoder",
    "open_registry",
    "open_cpv_classifier",
    "open_reranker",
    "sample_data_dir",
]
