"""Verdicts on ranked start-ups: recorded with who, when and which versions; listed; exported as qrels."""

from __future__ import annotations

from matcher.app.engine import Engine
from matcher.app.errors import NotFoundError
from matcher.data.feedback import VERDICT_LABELS, VERDICTS, Feedback, list_feedback, qrels_tsv, record_feedback, verdict_counts

__all__ = ["VERDICTS", "VERDICT_LABELS", "give_feedback", "list_feedback", "qrels_tsv", "verdict_counts"]


def give_feedback(
    engine: Engine,
    actor: str,
    supplier_id: str,
    verdict: str,
    *,
    need_id: str | None = None,
    query_text: str = "",
    buyer_id: str | None = None,
    rank: int | None = None,
    versions: dict[str, str] | None = None,
) -> tuple[int, dict[str, str]]:
    """Store a verdict on ``supplier_id`` for a recorded need or a free-text search, stamped with the
    versions of the ranking it is about (the served ones when not given), audited in the same
    transaction: (its id, the versions stored).

    ``NotFoundError`` for an unknown supplier; ``ValueError`` naming the field for a bad verdict or
    neither a need nor a query. Whose organisation the verdict belongs to is the caller's rule.
    """
    if engine.corpus.position.get(supplier_id) is None and engine.catalogue.supplier(supplier_id) is None:
        raise NotFoundError("supplier", supplier_id)
    versions = versions or engine.versions()
    feedback_id = record_feedback(engine.catalogue, Feedback(supplier_id, verdict, actor, versions, need_id, query_text, buyer_id, rank))
    return feedback_id, versions
