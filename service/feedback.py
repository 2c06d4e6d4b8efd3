"""Feedback on ranked start-ups, stored with who, when and which versions; exported as qrels."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from matcher.app import NotFoundError
from matcher.app import feedback as verdicts

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
    buyer_id = body.buyer_id or None
    if body.need_id:
        buyer_id = visible_need(engine.catalogue, body.need_id, principal).buyer_id
    elif not body.query_text.strip():
        raise HTTPException(422, detail="need_id : donnez le besoin enregistré, ou query_text pour une recherche en texte libre")
    if principal.role == "buyer":
        if buyer_id:
            check_buyer(principal, buyer_id)
        buyer_id = principal.buyer_id
    try:
        feedback_id, versions = verdicts.give_feedback(  # audited in the same transaction
            engine,
            principal.label,
            body.supplier_id,
            body.verdict,
            need_id=body.need_id,
            query_text=body.query_text,
            buyer_id=buyer_id,
            rank=body.rank,
            versions=body.versions,
        )
    except NotFoundError as exc:
        raise HTTPException(404, detail=f"supplier_id : {exc}") from None
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return {"id": feedback_id, "verdict": body.verdict, "buyer_id": buyer_id, "versions": versions}


@router.get("/feedback", response_model=FeedbackListOut)
def feedback_list(principal: Caller, engine: EngineDep) -> dict:
    """Stored verdicts, newest first (a buyer key: its organisation's only)."""
    data = verdicts.list_feedback(engine.catalogue, buyer_id=None if principal.is_staff else principal.buyer_id)
    return {"data": data, "count": len(data)}


@router.get(
    "/feedback/qrels.tsv",
    response_class=Response,
    responses={200: {"content": {"text/tab-separated-values": {"schema": {"type": "string"}}}}},
)
def feedback_qrels(principal: Staff, engine: EngineDep) -> Response:
    """The verdicts on recorded needs as graded ``qrels.tsv`` (0–3), for retraining (staff)."""
    return Response(verdicts.qrels_tsv(engine.catalogue), media_type="text/tab-separated-values; charset=utf-8")
