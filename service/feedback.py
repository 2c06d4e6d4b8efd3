"""Feedback on ranked start-ups, stored with who, when and which versions; exported as qrels."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from matcher.data.feedback import Feedback, list_feedback, qrels_tsv, record_feedback

from .auth import Caller, Staff, check_buyer, visible_need
from .deps import EngineDep
from .schemas import ERROR_RESPONSES, FeedbackCreatedOut, FeedbackIn, FeedbackListOut

router = APIRouter(tags=["feedback"], responses=ERROR_RESPONSES)


@router.post("/feedback", status_code=201, response_model=FeedbackCreatedOut)
def give_feedback(body: FeedbackIn, principal: Caller, engine: EngineDep) -> dict:
    """A verdict on one result: not_relevant, relevant, shortlisted, pitched or contracted.

    On a recorded need (``need_id``) or on a free-text search (``query_text``); a buyer key
    gives feedback for its own organisation only. Without ``versions``, the current ones are stored.
    """
    if engine.corpus.position.get(body.supplier_id) is None and engine.catalogue.supplier(body.supplier_id) is None:
        raise HTTPException(404, detail=f"supplier_id : fournisseur {body.supplier_id!r} introuvable")
    buyer_id = body.buyer_id or None
    if body.need_id:
        buyer_id = visible_need(engine.catalogue, body.need_id, principal).buyer_id
    elif not body.query_text.strip():
        raise HTTPException(422, detail="need_id: give the recorded need, or query_text for a free-text search")
    if principal.role == "buyer":
        if buyer_id:
            check_buyer(principal, buyer_id)
        buyer_id = principal.buyer_id
    versions = body.versions or engine.versions()
    fb = Feedback(body.supplier_id, body.verdict, principal.label, versions, body.need_id, body.query_text, buyer_id, body.rank)
    feedback_id = record_feedback(engine.catalogue, fb)  # audited in the same transaction
    return {"id": feedback_id, "verdict": body.verdict, "buyer_id": buyer_id, "versions": versions}


@router.get("/feedback", response_model=FeedbackListOut)
def feedback_list(principal: Caller, engine: EngineDep) -> dict:
    """Stored verdicts, newest first (a buyer key: its organisation's only)."""
    data = list_feedback(engine.catalogue, buyer_id=None if principal.is_staff else principal.buyer_id)
    return {"data": data, "count": len(data)}


@router.get(
    "/feedback/qrels.tsv",
    response_class=Response,
    responses={200: {"content": {"text/tab-separated-values": {"schema": {"type": "string"}}}}},
)
def feedback_qrels(principal: Staff, engine: EngineDep) -> Response:
    """The verdicts on recorded needs as graded ``qrels.tsv`` (0–3), for retraining (staff)."""
    return Response(qrels_tsv(engine.catalogue), media_type="text/tab-separated-values; charset=utf-8")
