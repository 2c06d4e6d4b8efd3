"""The FastAPI application: ``create_app(settings)``; the engine is loaded in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi import Path as PathParam
from fastapi import Query as QueryParam
from fastapi.responses import HTMLResponse

from matcher.engine import Engine, NotFoundError
from matcher.rank import Filters, Query
from matcher.settings import MAX_K, Settings

from .schemas import HealthOut, MatchesOut, MatchRequest, ShortlistOut

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]
KParam = Annotated[int, QueryParam(ge=1, le=MAX_K, description="number of results")]
IdParam = Annotated[str, PathParam(min_length=1, max_length=200)]


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the app; the engine (models, index) is opened at start-up, not at import."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = engine or Engine.open(settings)
        log.info("engine ready: %s", app.state.engine.versions())
        yield

    app = FastAPI(
        title="Matcher — start-up pertinentes pour les besoins des acheteurs publics",
        version="0.1.0",
        lifespan=lifespan,
        description="Classement expliqué des start-up et PME innovantes pour chaque besoin d'acheteur public.",
    )
    app.state.settings = settings

    @app.get("/health", response_model=HealthOut, tags=["service"])
    def health(engine: EngineDep) -> HealthOut:
        counts = engine.catalogue.counts()
        return HealthOut(status="ok", suppliers=len(engine.corpus), needs=counts["needs"], evidence=len(engine.corpus.evidence), versions=engine.versions())

    @app.post("/match", response_model=MatchesOut, tags=["matching"])
    def match(body: MatchRequest, engine: EngineDep) -> MatchesOut:
        """Ranked, explained suppliers for a free-text need."""
        query = Query(body.text, cpv=body.cpv, buyer_id=body.buyer_id, segment=body.segment)
        filters = Filters(body.filters.segments, body.filters.regions, body.filters.tags)
        results = [r.to_dict() for r in engine.match(query, body.k, filters)]
        return MatchesOut(results=results, count=len(results), versions=engine.versions())

    @app.get("/needs/{need_id}/matches", response_model=MatchesOut, tags=["matching"])
    def need_matches(need_id: IdParam, engine: EngineDep, k: KParam = 10) -> MatchesOut:
        """Ranked suppliers for a recorded need."""
        try:
            need, results = engine.match_need(need_id, k)
        except NotFoundError as exc:
            raise HTTPException(404, detail=f"need_id: {exc}") from None
        out = [r.to_dict() for r in results]
        return MatchesOut(need_id=need.need_id, results=out, count=len(out), versions=engine.versions())

    @app.get("/buyers/{buyer_id}/shortlist", response_model=ShortlistOut, tags=["shortlists"])
    def buyer_shortlist(buyer_id: IdParam, engine: EngineDep, k: KParam = 10) -> ShortlistOut:
        """A buyer's (ministry's) shortlist over all its recorded needs."""
        try:
            needs, entries = engine.shortlist(buyer_id, k)
        except NotFoundError as exc:
            raise HTTPException(404, detail=f"buyer_id: {exc}") from None
        results = []
        for e in entries:
            s = engine.corpus.suppliers[e.supplier]
            results.append(
                {
                    "rank": e.rank,
                    "supplier_id": s.supplier_id,
                    "name": s.name,
                    "region": s.region,
                    "score": e.score,
                    "needs": [{"need_id": n, "title": t, "rank": r} for n, t, r in e.needs],
                }
            )
        name = next((n.buyer_name for n in needs if n.buyer_name), "")
        return ShortlistOut(buyer_id=buyer_id, buyer_name=name, n_needs=len(needs), results=results, count=len(results), versions=engine.versions())

    @app.get("/buyers", tags=["shortlists"])
    def buyers(engine: EngineDep) -> dict:
        """Buyers with recorded needs."""
        data = [{"buyer_id": b, "buyer_name": n, "n_needs": c} for b, n, c in engine.catalogue.buyers()]
        return {"data": data, "count": len(data)}

    @app.get("/buyers/{buyer_id}/needs", tags=["shortlists"])
    def buyer_needs(buyer_id: IdParam, engine: EngineDep) -> dict:
        """A buyer's recorded needs."""
        needs = engine.catalogue.needs(buyer_id)
        if not needs:
            raise HTTPException(404, detail=f"buyer_id: buyer {buyer_id!r} not found")
        data = [{"need_id": n.need_id, "title": n.title, "description": n.description, "segment": n.segment, "cpv": n.cpv} for n in needs]
        return {"data": data, "count": len(data)}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    return app
