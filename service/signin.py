"""Agents' sign-in with OpenID Connect (ProConnect, the State's identity federation), with authlib.

``/connexion`` sends the browser to the provider (authorization code flow, PKCE S256, a fresh
``state`` and ``nonce`` of 43 characters, client authentication by ``client_secret_post``);
``/connexion/retour`` checks the state, trades the code, checks the ID token (issuer, audience,
expiry, nonce, signature from the provider's JWKS), reads the userinfo (a signed JWT, checked the same
way, or plain JSON), and maps the agent's SIRET to a buyer organisation and a role through the table
staff keep (``matcher.ops.agents``). Anyone the table does not know, or who is not a public agent,
gets a French page that says why — never an account. The session is a signed cookie (HttpOnly,
SameSite=Lax, Secure in production) holding the principal and a CSRF token that every write made
with the cookie must send back (``X-CSRF-Token``); API keys stay for machine clients.
``/deconnexion`` ends the session here and at the provider (its end-session endpoint). The session
keeps who signed in and their SIRET; the role and organisation are read from the table on each
request, so that staff's changes reach open sessions.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from matcher.app.ops import SignInRefused
from matcher.settings import Settings

from . import pages
from .auth import SESSION_KEY, Caller

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
SCOPES = "openid email given_name usual_name siret organization_label roles uid"


def oauth_client(settings: Settings) -> Any | None:
    """The authlib client of the configured provider (its metadata is read at the first sign-in);
    ``None`` when no provider is configured (API keys only). ``ValueError`` for half a configuration."""
    if not settings.oidc_issuer:
        return None
    if not (settings.oidc_client_id and settings.oidc_client_secret):
        raise ValueError("oidc_client_id, oidc_client_secret : requis dès que oidc_issuer est donné")
    oauth = OAuth()
    oauth.register(
        "proconnect",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPES, "code_challenge_method": "S256", "token_endpoint_auth_method": "client_secret_post"},
    )
    return oauth.create_client("proconnect")


def _refusal(request: Request, status: int, title: str, reason: str) -> HTMLResponse:
    return HTMLResponse(pages.render("refus.html", request.app.state.settings, titre=title, raison=reason), status_code=status)


def _redirect_uri(request: Request) -> str:
    base = request.app.state.settings.public_url
    return (base.rstrip("/") + "/connexion/retour") if base else str(request.url_for("signin_callback"))


@router.get("/connexion")
async def signin(request: Request) -> Response:
    client = request.app.state.oidc
    if client is None:
        return _refusal(request, 404, "Connexion indisponible", "La connexion avec ProConnect n'est pas configurée sur ce service.")
    request.session.pop(SESSION_KEY, None)
    try:
        return await client.authorize_redirect(
            request, _redirect_uri(request), state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32)
        )
    except (OAuthError, OSError, ValueError) as exc:
        log.warning("sign-in: the provider cannot be reached: %s", exc)
        return _refusal(request, 502, "Connexion indisponible", "Le service d'identification ne répond pas ; réessayez dans un instant.")


async def _userinfo(client: Any, token: dict) -> dict:
    """The userinfo claims: a signed JWT checked against the provider's keys, or plain JSON."""
    metadata = await client.load_server_metadata()
    answer = await client.get(metadata["userinfo_endpoint"], token=token)
    answer.raise_for_status()
    if answer.headers.get("content-type", "").startswith("application/jwt"):
        keys = KeySet.import_key_set(await client.fetch_jwk_set())
        algorithms = metadata.get("userinfo_signing_alg_values_supported") or ["ES256", "RS256"]
        decoded = jwt.decode(answer.text, keys, algorithms=[a for a in algorithms if a != "none"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": metadata["issuer"]}, aud={"essential": True, "value": client.client_id}
        ).validate(decoded.claims)
        return dict(decoded.claims)
    return answer.json()


@router.get("/connexion/retour", name="signin_callback")
async def signin_callback(request: Request) -> Response:
    client = request.app.state.oidc
    if client is None:
        return _refusal(request, 404, "Connexion indisponible", "La connexion avec ProConnect n'est pas configurée sur ce service.")
    failed = "La connexion a échoué"
    try:
        token = await client.authorize_access_token(request, leeway=30)
    except OAuthError as exc:
        log.warning("sign-in refused: %s %s", exc.error, exc.description)
        if exc.error == "mismatching_state":
            reason = "La demande de connexion est inconnue ou a déjà servi (lien rejoué ou falsifié). Reprenez la connexion depuis la page d'accueil."
        else:
            reason = "Le service d'identification a refusé la connexion. Reprenez-la depuis la page d'accueil."
        return _refusal(request, 400, failed, reason)
    except JoseError as exc:
        log.warning("sign-in refused: ID token rejected: %s", exc)
        return _refusal(
            request,
            400,
            failed,
            "Le jeton d'identité reçu n'est pas valable (émetteur, destinataire, date ou signature) : connexion refusée.",
        )
    if "userinfo" not in token:
        return _refusal(request, 400, failed, "Le service d'identification n'a pas envoyé de jeton d'identité : connexion refusée.")
    try:
        claims = {**token["userinfo"], **await _userinfo(client, token)}
    except (JoseError, OAuthError, OSError, ValueError) as exc:
        log.warning("sign-in refused: userinfo rejected: %s", exc)
        return _refusal(request, 400, failed, "Les informations d'identité reçues ne sont pas valables : connexion refusée.")
    if claims.get("sub") != token["userinfo"].get("sub"):
        return _refusal(request, 400, failed, "Les informations d'identité ne correspondent pas au jeton : connexion refusée.")
    try:
        agent = request.app.state.agents.sign_in(claims)
    except SignInRefused as exc:
        return _refusal(request, 403, "Accès refusé", str(exc))
    request.session[SESSION_KEY] = {**agent, "csrf": secrets.token_urlsafe(32), "id_token": token.get("id_token", "")}
    principal = request.app.state.agents.session_principal(agent)
    log.info("signed in: %s", principal.label)
    return RedirectResponse("/", status_code=303)


@router.post("/deconnexion")
async def signout(request: Request, principal: Caller) -> Response:
    """End the session (a write: ``Authenticate`` required its CSRF token); answers where to send the
    browser next: the provider's end-session endpoint, back to the page afterwards."""
    id_token = (request.session.get(SESSION_KEY) or {}).get("id_token", "")
    request.session.clear()
    client = request.app.state.oidc
    back = (request.app.state.settings.public_url or str(request.base_url)).rstrip("/") + "/"
    if client is None or not id_token:  # an API key, or no provider: nothing to end there
        return JSONResponse({"next": back})
    try:
        logout = await client.create_logout_url(post_logout_redirect_uri=back, id_token_hint=id_token, state=secrets.token_urlsafe(32))
    except (OAuthError, OSError, ValueError, RuntimeError):
        return JSONResponse({"next": back})
    return JSONResponse({"next": logout["url"]})
