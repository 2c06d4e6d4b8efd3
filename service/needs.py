"""Recording needs: buyers list, a buyer's needs, create / edit / delete, file import (staff)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from fastapi import Query as QueryParam

from matcher.app import records
from matcher.app.imports import import_file
from matcher.app.vocabulary import Need, NeedExists, Principal, RecordError

from .auth import Caller, Staff, check_buyer, visible_need
from .deps import EngineDep, IdParam
from .schemas import ERROR_RESPONSES, BuyersOut, ImportOut, NeedIn, NeedOut, NeedsOut
from .uploads import import_summary, uploaded

router = APIRouter(tags=["needs"], responses=ERROR_RESPONSES)


def need_out(need: Need) -> NeedOut:
    return NeedOut(**{k: v for k, v in need.to_dict().items() if k in NeedOut.model_fields})


def _validated(body: NeedIn, need_id: str, principal: Principal) -> Need:
    raw = body.model_dump(exclude_none=True)
    raw["need_id"] = need_id
    if principal.role == "buyer":
        if raw.get("buyer_id") and raw["buyer_id"] != principal.buyer_id:
            raise HTTPException(404, detail=f"buyer_id : acheteur {raw['buyer_id']!r} introuvable")
        raw["buyer_id"] = principal.buyer_id
    try:
        return Need.from_raw(raw)
    except RecordError as exc:
        raise HTTPException(422, detail=f"{exc.field} : {exc.message}") from None


@router.get("/buyers", response_model=BuyersOut)
def buyers(principal: Caller, engine: EngineDep) -> dict:
    """Buyers with recorded needs (a buyer key sees its own organisation only)."""
    data = [{"buyer_id": b, "buyer_name": n, "n_needs": c} for b, n, c in engine.catalogue.buyers() if principal.can_access_buyer(b)]
    return {"data": data, "count": len(data)}


@router.get("/buyers/{buyer_id}/needs", response_model=NeedsOut)
def buyer_needs(buyer_id: IdParam, principal: Caller, engine: EngineDep) -> dict:
    """A buyer's recorded needs."""
    check_buyer(principal, buyer_id)
    needs = engine.catalogue.needs(buyer_id)
    if not needs:
        raise HTTPException(404, detail=f"buyer_id : acheteur {buyer_id!r} introuvable")
    data = [need_out(n).model_dump() for n in needs]
    return {"data": data, "count": len(data)}


@router.get("/needs/{need_id}", response_model=NeedOut)
def get_need(need_id: IdParam, principal: Caller, engine: EngineDep) -> NeedOut:
    return need_out(visible_need(engine.catalogue, need_id, principal))


def _not_found(need_id: str) -> HTTPException:
    return HTTPException(404, detail=f"need_id : besoin {need_id!r} introuvable")


def _owner(principal: Principal) -> str | None:
    """The organisation a write must stay within: a buyer key's own; ``None`` for staff (any)."""
    return None if principal.is_staff else principal.buyer_id or ""


@router.post("/needs", response_model=NeedOut, status_code=201)
def create_need(body: NeedIn, principal: Caller, engine: EngineDep) -> NeedOut:
    """Record a need (staff: for any buyer; a buyer key: for its organisation).

    409 if the id exists — for a buyer key, 404 when it is another organisation's (as if unknown).
    Concurrent creates of one id: exactly one 201 (the database's primary key decides).
    """
    need_id = body.need_id or f"need-{secrets.token_hex(5)}"
    need = _validated(body, need_id, principal)
    try:
        records.create_need(engine.catalogue, need, principal.label)
    except NeedExists as exc:
        if not principal.is_staff and exc.owner != principal.buyer_id:
            raise _not_found(need_id) from None
        raise HTTPException(409, detail=f"need_id : le besoin {need_id!r} existe déjà (PUT /needs/{{need_id}} le modifie)") from None
    return need_out(need)


@router.put("/needs/{need_id}", response_model=NeedOut)
def update_need(need_id: IdParam, body: NeedIn, principal: Caller, engine: EngineDep) -> NeedOut:
    """Edit a recorded need (its organisation cannot be changed by a buyer key).

    The ownership is checked by the write itself, on the stored row, in the same transaction.
    """
    if body.need_id and body.need_id != need_id:
        raise HTTPException(422, detail="need_id : celui du corps de la requête diffère de celui de l'URL")
    need = _validated(body, need_id, principal)
    if not records.update_need(engine.catalogue, need, principal.label, owner=_owner(principal)):
        raise _not_found(need_id)
    return need_out(need)


@router.delete("/needs/{need_id}", status_code=204)
def delete_need(need_id: IdParam, principal: Caller, engine: EngineDep) -> None:
    """Delete a recorded need (a buyer key: its organisation's only)."""
    if not records.delete_need(engine.catalogue, need_id, principal.label, owner=_owner(principal)):
        raise _not_found(need_id)


@router.post("/needs/import", response_model=ImportOut)
async def import_needs(
    request: Request,
    principal: Staff,
    engine: EngineDep,
    format: Annotated[str, QueryParam(description="jsonl, csv, tsv, parquet or xlsx (docs/formats.md)")] = "jsonl",  # noqa: A002
) -> dict:
    """Import a needs file (staff): the body is the file. Good rows are stored, bad rows are reported by line."""
    async with uploaded(request, format) as path:
        result = import_file(engine.catalogue, "needs", path, f"api:{principal.label}", actor=principal.label)
    return import_summary(result)
