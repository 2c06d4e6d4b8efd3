"""The FastAPI application: ``create_app(settings)``; the engine is loaded in the lifespan.

Routes are grouped by who uses them: ``matching`` (buyers and staff), ``needs`` (recording
needs), ``shortlists`` (ministry lists, exports, statistics), ``feedback`` and ``admin``.
Every route but the screens (``/``, ``/informations``, their files under ``/static`` and the design
system's under ``/dsfr``), ``/health`` and the OpenAPI pages needs
an API key, checked before the body is read, then rate-limited per key (``service.auth``).
Bodies are capped while they are read (1 MiB; 10 MB for file imports); every answer carries
security headers, HTML ones a strict CSP (``service.headers``); every request is logged as JSON
with its id (``service.observability``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from matcher.app import BatchTooLarge, Engine, Served, imports
from matcher.app.ops import AgentDirectory, KeyStore
from matcher.app.vocabulary import EncoderBusy
from matcher.settings import Settings

from . import admin, agents, barometer, feedback, matching, needs, observability, pages, shortlists, signin
from .auth import Authenticate, session_principal
from .body import BodyLimit
from .headers import SecurityHeaders
from .ratelimit import RateLimit, parse_rate_limit
from .schemas import HealthOut
from .schemas.messages import error_response, field_errors

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
#: Swagger UI's files, from the ``fastapi-offline`` package (the API reference works without internet)
SWAGGER_UI = Path(fastapi_offline.__file__).parent / "static"


class ConfigurationError(RuntimeError):
    """The service must not start with these settings."""


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the app; the engine (models, index) is opened at start-up, not at import.

    Raises ``ConfigurationError`` outside development mode without a secret of its own.
    """
    settings = settings or Settings()
    try:
        secret = settings.key_secret()
        parse_rate_limit(settings.rate_limit)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.served = Served(engine or Engine.open(settings))
        app.state.keys = KeyStore(app.state.served.engine.catalogue, secret)
        app.state.agents = AgentDirectory(app.state.served.engine.catalogue)
        log.info("engine ready: %s", app.state.served.engine.versions())
        yield

    app = FastAPI(
        title="Matcher — start-up pertinentes pour les besoins des acheteurs publics",
        version="0.2.0",
        lifespan=lifespan,
        docs_url=None,  # served below from the service's own files (no CDN, no inline script: the CSP allows neither)
        redoc_url=None,
        description=(
            "Classement expliqué des start-up et PME innovantes pour chaque besoin d'acheteur public. "
            "Clés d'API par rôle (acheteur, équipe French Tech, administration) : `Authorization: Bearer mk_…`."
        ),
    )
    app.state.settings = settings
    app.state.rate_limit = RateLimit(settings.rate_limit)

    @app.get("/health", response_model=HealthOut, tags=["service"])
    def health(request: Request) -> HealthOut:
        engine: Engine = request.app.state.served.engine
        counts = engine.catalogue.counts()
        return HealthOut(
            status="ok",
            suppliers=len(engine.corpus),
            needs=counts["needs"],
            evidence=len(engine.corpus.evidence),
            versions=engine.versions(),
        )

    @app.get("/", include_in_schema=False)
    def page(request: Request) -> HTMLResponse:
        signed_in = session_principal(request.session, app.state.agents)
        return HTMLResponse(
            pages.render("index.html", settings, proconnect=app.state.oidc is not None, csrf=signed_in[1] if signed_in else "")
        )

    @app.get("/informations", include_in_schema=False)
    def informations() -> HTMLResponse:
        return HTMLResponse(pages.render("informations.html", settings))

    @app.get("/modeles/{name}", include_in_schema=False)
    def spreadsheet_template(name: str) -> Response:
        """The import templates (CSV as French Excel saves it, XLSX), French titles and one example row."""
        found = imports.template(name)
        if found is None:
            names = ", ".join(imports.TEMPLATES)
            return error_response(404, f"modèle « {name} » inconnu (modèles : {names})")
        content, media_type = found
        return Response(content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.get("/docs", include_in_schema=False)
    def api_reference() -> FileResponse:
        return FileResponse(STATIC / "docs.html", media_type="text/html; charset=utf-8")

    @app.get("/redoc", include_in_schema=False)
    def api_reference_redoc() -> FileResponse:
        return FileResponse(STATIC / "redoc.html", media_type="text/html; charset=utf-8")

    app.mount("/static/docs", StaticFiles(directory=SWAGGER_UI), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if settings.design_system_dir.is_dir():
        app.mount("/dsfr", StaticFiles(directory=settings.design_system_dir), name="dsfr")
    else:
        log.warning("the design system is missing at %s (run `make install`): the page is served unstyled", settings.design_system_dir)
    for module in (matching, needs, shortlists, feedback, admin, agents, signin, barometer):
        app.include_router(module.router)
    try:
        app.state.oidc = signin.oauth_client(settings)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    # middleware: the last added runs first — logs, security headers, the session cookie, the key (or
    # session) check, then the body cap
    app.add_middleware(BodyLimit)
    app.add_middleware(Authenticate)
    app.add_middleware(
        SessionMiddleware,
        secret_key=hashlib.sha256(b"session cookie:" + secret.encode()).hexdigest(),  # not the key hashes' own secret
        session_cookie="matcher_session",
        max_age=settings.session_max_age_s,
        same_site="lax",  # sent on the provider's redirect back (a top-level GET), never on another site's POST
        https_only=settings.mode == "production",
    )
    app.add_middleware(SecurityHeaders, hsts=settings.mode == "production")
    observability.install(app)

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = exc.errors()
        if raw and all(e.get("type") == "json_invalid" for e in raw):
            reason = (raw[0].get("ctx") or {}).get("error", "")
            return error_response(400, f"body : JSON invalide ({reason or 'illisible'})")
        errors = field_errors(raw)
        detail = " ; ".join(f"{e['field'] or 'body'} : {e['message']}" for e in errors) or "données invalides"
        return error_response(422, detail, errors)

    @app.exception_handler(StarletteHTTPException)
    async def refused(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 400 and "parsing the body" in detail:
            detail = "body : JSON invalide (ou pas en UTF-8)"
        return error_response(exc.status_code, detail, headers=exc.headers)

    @app.exception_handler(EncoderBusy)  # Overloaded included
    async def overloaded(request: Request, exc: EncoderBusy) -> JSONResponse:
        log.warning("503 %s: %s", request.url.path, exc)
        retry = str(max(1, round(exc.retry_after)))
        return error_response(503, f"service : {exc} ; réessayez dans {retry} s", headers={"Retry-After": retry})

    @app.exception_handler(BatchTooLarge)
    async def batch_too_large(request: Request, exc: BatchTooLarge) -> JSONResponse:
        return error_response(422, str(exc), [{"field": "queries", "code": "too_long", "message": str(exc)}])

    return app
