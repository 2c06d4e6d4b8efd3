"""The table staff keep for agents' sign-in: which buyer organisation and role each SIRET gets.

Staff and admins read and change it; only an admin may give the admin role. Every change is audited.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, HTTPException, Request

from matcher.app.ops import AgentDirectory

from .auth import Staff
from .deps import IdParam
from .schemas import ERROR_RESPONSES
from .schemas.answers import AgentOrganisationOut, AgentOrganisationsOut
from .schemas.requests import AgentOrganisationIn

router = APIRouter(prefix="/agents/organisations", tags=["staff"], responses=ERROR_RESPONSES)


def _directory(request: Request) -> AgentDirectory:
    return request.app.state.agents  # one per service: its changes reach open sessions at once


@router.get("", response_model=AgentOrganisationsOut)
def list_organisations(principal: Staff, request: Request) -> dict:
    """Every SIRET whose agents may sign in, with what they get."""
    data = [asdict(o) for o in _directory(request).list()]
    return {"data": data, "count": len(data)}


@router.put("/{siret}", response_model=AgentOrganisationOut)
def set_organisation(siret: IdParam, body: AgentOrganisationIn, principal: Staff, request: Request) -> dict:
    """Let the agents of ``siret`` sign in, as buyers of one organisation, as staff or (admins only) as admins."""
    if body.role == "admin" and not principal.is_admin:
        raise HTTPException(403, detail="role : seule l'administration peut donner le rôle « admin »")
    try:
        organisation = _directory(request).set(siret, body.role, body.buyer_id, body.label, actor=principal.label)
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return asdict(organisation)


@router.delete("/{siret}", status_code=204)
def remove_organisation(siret: IdParam, principal: Staff, request: Request) -> None:
    """Stop the agents of ``siret`` from signing in (sessions already open end with their cookie)."""
    directory = _directory(request)
    found = directory.get(siret)
    if found is not None and found.role == "admin" and not principal.is_admin:
        raise HTTPException(403, detail="role : seule l'administration peut retirer une organisation « admin »")
    try:
        removed = directory.remove(siret, actor=principal.label)
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    if not removed:
        raise HTTPException(404, detail=f"siret : aucune organisation inscrite pour {siret!r}")
