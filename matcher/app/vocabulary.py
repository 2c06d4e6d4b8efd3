"""The words the edges speak, re-exported from the stages that own them: records, queries and
filters, roles, field rules, limits of a file. Types and constants only — behaviour is reached
through the use cases of ``matcher.app``."""

from __future__ import annotations

from embeddings import ENCODERS, EncoderBusy
from matcher.data.catalogue import NeedExists
from matcher.data.feedback import VERDICTS
from matcher.data.fields import RecordError, canonical_id, check_unicode, normalize_cpv, unicode_problem
from matcher.data.french import count_fr, number_fr
from matcher.data.ingest import SUPPORTED, ImportReport, InputFileError
from matcher.data.schema import SEGMENT_LABELS_FR, SEGMENTS, SIZE_LABELS_FR, SIZES, Need, Supplier
from matcher.ops.access import ROLES, Principal
from matcher.ranking.procurement import procurement_notice
from matcher.ranking.rank import Filters, Query
from matcher.ranking.shortlist import ShortlistEntry

__all__ = [
    "count_fr",
    "number_fr",
    "ENCODERS",
    "ROLES",
    "SEGMENTS",
    "SIZES",
    "SEGMENT_LABELS_FR",
    "SIZE_LABELS_FR",
    "SUPPORTED",
    "VERDICTS",
    "EncoderBusy",
    "Filters",
    "ImportReport",
    "InputFileError",
    "Need",
    "NeedExists",
    "Principal",
    "Query",
    "RecordError",
    "ShortlistEntry",
    "Supplier",
    "canonical_id",
    "check_unicode",
    "normalize_cpv",
    "procurement_notice",
    "unicode_problem",
]
