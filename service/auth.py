"""Who is calling: API keys from ``Authorization: Bearer`` or ``X-API-Key`` (machine clients), or the
session cookie of an agent signed in with ProConnect (``service.signin``; every write made with it
carries its CSRF token, else 403), and role rules.

No key or an invalid one → 401; a valid key without the role a route needs → 403; a buyer
key asking for another organisation's needs, shortlists or feedback → 404 (as if it did not
exist, so that keys do not reveal other organisations' records).

The key is checked by ``Authenticate``, in front of the routes, before a byte of the body is
read; the per-key rate limit is applied there too. Routes read the caller from ``Caller``.
"""

from __future__ import annotations

import secrets
import time
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from matcher.app.ops import AgentDirectory
from matcher.app.vocabulary import Principal

from .schemas.messages import error_response

#: what anyone may read without a key: the page and its files, the health check, the API's description
PUBLIC_PATHS = frozenset({"/", "/informations", "/health", "/openapi.json", "/docs", "/redoc", "/connexion", "/connexion/retour"})
PUBLIC_PREFIXES = ("/static/", "/dsfr/", "/modeles/")
#: where the session cookie keeps the agent signed in with ProConnect (``service.signin``)
SESSION_KEY = "agent"
_MISSING = "authorization : une clé d'API est requise (en-tête Authorization: Bearer mk_…)"
_UNKNOWN = "authorization : clé d'API inconnue ou révoquée"
_CSRF = "csrf : jeton anti-falsification manquant ou invalide (en-tête X-CSRF-Token) ; rechargez la page"
#: what a session cookie may do without its CSRF token
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token_of(headers: Headers) -> str | None:
    """The API key a request carries (``Authorization: Bearer`` first, else ``X-API-Key``)."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else ""
    return token or headers.get("x-api-key", "").strip() or None


def session_principal(session: dict, agents: AgentDirectory) -> tuple[Principal, str] | None:
    """The agent a session cookie holds, as the SIRET table says now, and the session's CSRF token;
    ``None`` for no session, or one whose SIRET staff removed since."""
    agent = session.get(SESSION_KEY)
    if not isinstance(agent, dict):
        return None
    try:
        principal = agents.session_principal(agent)
        return (principal, agent["csrf"]) if principal is not None else None
    except (KeyError, TypeError):
        return None


class Authenticate:
    """Pure ASGI middleware: the key is verified (401), then rate-limited (429), before the route runs
    and before its body is read; the caller is left in ``request.state.principal``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in PUBLIC_PATHS or (path.startswith(PUBLIC_PREFIXES) and "/.." not in path):
            await self.app(scope, receive, send)
            return
        received_at = time.monotonic()  # the request's time budget counts from here
        state = scope["app"].state
        headers = Headers(scope=scope)
        token = token_of(headers)
        principal = await anyio.to_thread.run_sync(state.keys.verify, token) if token else None
        if token is None and (signed_in := session_principal(scope.get("session") or {}, state.agents)) is not None:
            # an agent signed in with ProConnect: the session cookie, and its CSRF token on every write
            principal, csrf = signed_in
            if scope["method"] not in SAFE_METHODS and not secrets.compare_digest(headers.get("x-csrf-token", ""), csrf):
                response = error_response(403, _CSRF)
                await response(scope, receive, send)
                return
        if principal is None:
            response = error_response(401, _UNKNOWN if token else _MISSING, headers={"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        wait = state.rate_limit.allow(principal.key_id)
        if wait is not None:
            detail = f"rate : trop de requêtes pour cette clé (limite {state.settings.rate_limit}) ; réessayez dans {int(wait)} s"
            response = error_response(429, detail, headers={"Retry-After": str(int(wait))})
            await response(scope, receive, send)
            return
        scope.setdefault("state", {}).update(principal=principal, received_at=received_at)
        await self.app(scope, receive, send)


_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer mk_…`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key, alternatively in `X-API-Key`")


def get_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    header: Annotated[str | None, Security(_header)] = None,
) -> Principal:
    """The caller ``Authenticate`` verified (the security parameters document the scheme in OpenAPI).

    The middleware is the one check; a route it lets through unauthenticated (a public path)
    cannot ask for a caller, so there is nothing to verify here, and nothing is assumed."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        raise HTTPException(401, detail=_MISSING, headers={"WWW-Authenticate": "Bearer"})
    return principal


Caller = Annotated[Principal, Depends(get_principal)]


def require_staff(principal: Caller) -> Principal:
    if not principal.is_staff:
        raise HTTPException(
            403,
            detail=f"role : une clé « {principal.role} » ne peut pas utiliser cette route (réservée à l'équipe French Tech et à l'administration)",
        )
    return principal


def require_admin(principal: Caller) -> Principal:
    if not principal.is_admin:
        raise HTTPException(
            403, detail=f"role : une clé « {principal.role} » ne peut pas utiliser cette route (réservée à l'administration)"
        )
    return principal


Staff = Annotated[Principal, Depends(require_staff)]
Admin = Annotated[Principal, Depends(require_admin)]


def visible_need(catalogue, need_id: str, principal: Principal, field: str = "need_id"):
    """The recorded need if the caller may see it; 404 naming ``field`` otherwise (unknown or another organisation's)."""
    need = catalogue.need(need_id)
    if need is None or not principal.can_access_buyer(need.buyer_id):
        raise HTTPException(404, detail=f"{field} : besoin {need_id!r} introuvable")
    return need


def check_buyer(principal: Principal, buyer_id: str, field: str = "buyer_id") -> None:
    """404 unless the caller may see this buyer organisation."""
    if not principal.can_access_buyer(buyer_id):
        raise HTTPException(404, detail=f"{field} : acheteur {buyer_id!r} introuvable")
