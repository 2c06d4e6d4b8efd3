"""Stage 1 — the catalogue's data: records, their formats, their storage.

``schema`` (suppliers, needs, labels; the one canonical id and text rules), ``ingest`` (JSONL, CSV,
TSV, Parquet, XLSX files with per-row errors), the public sources (``decp`` award data, ``ilab``
laureates, ``cpv`` labels), ``text`` (French normalisation for matching), ``catalogue`` (the
database: one transaction per write) and ``feedback`` (verdicts and their qrels). Nothing here
knows about vectors, rankings or HTTP.
"""

from matcher.data.catalogue import Catalogue, NeedExists, Writes
from matcher.data.cpv import CpvVocabulary
from matcher.data.fields import RecordError, canonical_id
from matcher.data.ingest import ImportReport, InputFileError, read_labels, read_needs, read_suppliers
from matcher.data.schema import Label, Need, Reference, Supplier

__all__ = [
    "Catalogue",
    "CpvVocabulary",
    "ImportReport",
    "InputFileError",
    "Label",
    "Need",
    "NeedExists",
    "RecordError",
    "Reference",
    "Supplier",
    "Writes",
    "canonical_id",
    "read_labels",
    "read_needs",
    "read_suppliers",
]
