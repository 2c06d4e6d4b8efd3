"""The FastAPI application: ``create_app(settings)``; the engine is loaded in the lifespan.

Routes are grouped by who uses them: ``matching`` (buyers and staff), ``needs`` (recording
needs), ``shortlists`` (ministry lists, exports, statistics), ``feedback`` and ``admin``.
Every route but ``/``, ``/health``, ``/metrics`` and the OpenAPI pages needs an API key
(``service.auth``); every request is logged as JSON with its id (``service.observability``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from matcher.access import KeyStore
from matcher.engine import Engine
from matcher.settings import Settings

from . import admin, feedback, matching, needs, observability, shortlists
from .schemas import HealthOut

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


class ConfigurationError(RuntimeError):
    """The service must not start with these settings."""


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the app; the engine (models, index) is opened at start-up, not at import.

    Raises ``ConfigurationError`` outside development mode without a secret of its own.
    """
    settings = settings or Settings()
    try:
        secret = settings.key_secret()
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = engine or Engine.open(settings)
        app.state.keys = KeyStore(app.state.engine.catalogue, secret)
        log.info("engine ready: %s", app.state.engine.versions())
        yield

    app = FastAPI(
        title="Matcher — start-up pertinentes pour les besoins des acheteurs publics",
        version="0.2.0",
        lifespan=lifespan,
        description=(
            "Classement expliqué des start-up et PME innovantes pour chaque besoin d'acheteur public. "
            "Clés d'API par rôle (acheteur, équipe French Tech, administration) : `Authorization: Bearer mk_…`."
        ),
    )
    app.state.settings = settings
    app.state.reload_lock = threading.Lock()

    @app.get("/health", response_model=HealthOut, tags=["service"])
    def health(request: Request) -> HealthOut:
        engine: Engine = request.app.state.engine
        counts = engine.catalogue.counts()
        return HealthOut(status="ok", suppliers=len(engine.corpus), needs=counts["needs"], evidence=len(engine.corpus.evidence), versions=engine.versions())

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    for module in (matching, needs, shortlists, feedback, admin):
        app.include_router(module.router)
    observability.install(app)

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path")), "message": e.get("msg", "")} for e in exc.errors()]
        detail = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors) or "invalid input"
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def refused(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 400 and "parsing the body" in detail:
            detail = "body: not valid JSON (UTF-8)"
        return JSONResponse({"detail": detail, "errors": []}, status_code=exc.status_code, headers=exc.headers)

    return app


