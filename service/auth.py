"""Who is calling: API keys from ``Authorization: Bearer`` or ``X-API-Key``, and role rules.

No key or an invalid one → 401; a valid key without the role a route needs → 403; a buyer
key asking for another organisation's needs, shortlists or feedback → 404 (as if it did not
exist, so that keys do not reveal other organisations' records).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from matcher.access import KeyStore, Principal

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer mk_…`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key, alternatively in `X-API-Key`")


def get_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    header: Annotated[str | None, Security(_header)] = None,
) -> Principal:
    token = (bearer.credentials if bearer else None) or header
    if not token:
        raise HTTPException(401, detail="authorization: an API key is required (Authorization: Bearer mk_…)", headers={"WWW-Authenticate": "Bearer"})
    keys: KeyStore = request.app.state.keys
    principal = keys.verify(token.strip())
    if principal is None:
        raise HTTPException(401, detail="authorization: unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    return principal


Caller = Annotated[Principal, Depends(get_principal)]


def require_staff(principal: Caller) -> Principal:
    if not principal.is_staff:
        raise HTTPException(403, detail=f"role: {principal.role} keys cannot use this route (staff or admin)")
    return principal


def require_admin(principal: Caller) -> Principal:
    if not principal.is_admin:
        raise HTTPException(403, detail=f"role: {principal.role} keys cannot use this route (admin)")
    return principal


Staff = Annotated[Principal, Depends(require_staff)]
Admin = Annotated[Principal, Depends(require_admin)]


def visible_need(catalogue, need_id: str, principal: Principal, field: str = "need_id"):
    """The recorded need if the caller may see it; 404 naming ``field`` otherwise (unknown or another organisation's)."""
    need = catalogue.need(need_id)
    if need is None or not principal.can_access_buyer(need.buyer_id):
        raise HTTPException(404, detail=f"{field}: need {need_id!r} not found")
    return need


def check_buyer(principal: Principal, buyer_id: str, field: str = "buyer_id") -> None:
    """404 unless the caller may see this buyer organisation."""
    if not principal.can_access_buyer(buyer_id):
        raise HTTPException(404, detail=f"{field}: buyer {buyer_id!r} not found")
