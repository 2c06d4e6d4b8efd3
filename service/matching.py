"""Matching routes: a free-text need, a recorded need, and the reverse question for a start-up."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException
from fastapi import Query as QueryParam

from matcher.app import NotFoundError, matching
from matcher.app.vocabulary import SEGMENT_LABELS_FR, SEGMENTS, SIZE_LABELS_FR, Filters, Principal, Query, procurement_notice

from .auth import Caller, Staff, check_buyer, visible_need
from .deps import DeadlineDep, EngineDep, FiltersDep, IdParam, KParam, SettingsDep
from .schemas import ERROR_RESPONSES, BatchOut, BatchRequest, MatchesOut, MatchRequest, MeOut, ReverseOut, SuppliersFoundOut

router = APIRouter(tags=["matching"], responses=ERROR_RESPONSES)


@router.get("/me", response_model=MeOut, tags=["service"])
def me(principal: Caller, engine: EngineDep, settings: SettingsDep) -> MeOut:
    """Who the key belongs to, and what the page needs to know (threshold, segments, sizes)."""
    return MeOut(
        name=principal.name,
        role=principal.role,
        buyer_id=principal.buyer_id,
        key_id=principal.key_id,
        innovation_threshold_eur=settings.innovation_threshold_eur,
        segments=list(SEGMENTS),
        segment_labels=SEGMENT_LABELS_FR,
        sizes=SIZE_LABELS_FR,
        versions=engine.versions(),
    )


def _query(body: MatchRequest, principal: Principal) -> tuple[Query, Filters]:
    buyer_id = body.buyer_id
    if principal.role == "buyer":
        if buyer_id:
            check_buyer(principal, buyer_id)
        buyer_id = principal.buyer_id or ""
    query = Query(body.text, cpv=body.cpv, buyer_id=buyer_id, segment=body.segment, amount=body.amount)
    return query, Filters(body.filters.segments, body.filters.regions, body.filters.tags, body.filters.sizes)


def _answer(
    results: list, amount: float | None, settings, versions: dict[str, str], need_id: str | None = None, likely: list | None = None
) -> MatchesOut:
    """The wire answer of one ranking (validated into its schema)."""
    out = [r.to_dict() for r in results]
    notice = procurement_notice(amount, settings.innovation_threshold_eur)
    return MatchesOut.model_validate(
        {
            "need_id": need_id,
            "results": out,
            "count": len(out),
            "clear_match": matching.clear_match(results),
            "likely_cpv": [vars(c) for c in likely or []],
            "procurement": notice,
            "versions": versions,
        }
    )


@router.post("/match", response_model=MatchesOut)
def match(body: MatchRequest, principal: Caller, engine: EngineDep, settings: SettingsDep, deadline: DeadlineDep) -> MatchesOut:
    """Ranked, explained suppliers for a free-text need (a buyer key matches for its own organisation).

    503 with ``Retry-After`` when the time budget runs out while the encoder is busy with long requests.
    """
    query, filters = _query(body, principal)
    results = matching.match(engine, query, body.k, filters, deadline)
    return _answer(results, body.amount, settings, engine.versions(), likely=matching.likely_cpv(engine, query))


@router.post("/match/batch", response_model=BatchOut)
def match_batch(body: BatchRequest, principal: Caller, engine: EngineDep, settings: SettingsDep, deadline: DeadlineDep) -> BatchOut:
    """Several needs at once (up to 100 and 16,384 encoder tokens in all): their texts are encoded in one pass."""
    parsed = [_query(q, principal) for q in body.queries]
    rankings = matching.match_many(engine, [q for q, _ in parsed], [r.k for r in body.queries], [f for _, f in parsed], deadline)
    versions = engine.versions()
    answers = [
        _answer(ranking, r.amount, settings, versions, likely=matching.likely_cpv(engine, q))
        for r, ranking, (q, _) in zip(body.queries, rankings, parsed)
    ]
    return BatchOut(results=answers, count=len(answers), versions=versions)


@router.get("/needs/{need_id}/matches", response_model=MatchesOut)
def need_matches(
    need_id: IdParam,
    principal: Caller,
    engine: EngineDep,
    settings: SettingsDep,
    filters: FiltersDep,
    deadline: DeadlineDep,
    k: KParam = 10,
) -> MatchesOut:
    """Ranked suppliers for a recorded need (a buyer key: its own organisation's needs only)."""
    need = visible_need(engine.catalogue, need_id, principal)
    query = Query.from_need(need)
    results = matching.match(engine, query, k, filters, deadline)
    return _answer(results, need.amount, settings, engine.versions(), need.need_id, likely=matching.likely_cpv(engine, query))


@router.get("/suppliers", tags=["shortlists"], response_model=SuppliersFoundOut)
def suppliers_by_name(
    principal: Staff,
    engine: EngineDep,
    q: Annotated[
        str,
        QueryParam(
            min_length=matching.MIN_SUPPLIER_SEARCH_CHARS,
            max_length=matching.MAX_SUPPLIER_SEARCH_CHARS,
            description="a start-up's name (or part of it), its id or its SIREN; accents and case aside",
        ),
    ],
    limit: Annotated[int, QueryParam(ge=1, le=matching.MAX_SUPPLIER_SEARCH, description="most suppliers returned")] = 10,
) -> dict:
    """Find a start-up by its name (staff): exact id or SIREN first, then names that start with the text, then the rest."""
    found = matching.find_suppliers(engine, q, limit)
    return {
        "data": [{"supplier_id": s.supplier_id, "name": s.name, "region": s.region, "siren": s.siren} for s in found],
        "count": len(found),
    }


@router.get("/suppliers/{supplier_id}/needs", tags=["shortlists"], response_model=ReverseOut)
def supplier_needs(supplier_id: IdParam, principal: Staff, engine: EngineDep, k: KParam = 10) -> dict:
    """The reverse question (staff): which recorded needs this start-up fits, best first."""
    try:
        found = matching.needs_for_supplier(engine, supplier_id, k)
    except NotFoundError as exc:
        raise HTTPException(404, detail=f"supplier_id : {exc}") from None
    supplier = engine.corpus.suppliers[engine.corpus.position[supplier_id]]
    data = [
        {
            "need_id": need.need_id,
            "buyer_id": need.buyer_id,
            "buyer_name": need.buyer_name,
            "title": need.title or need.description[:120],
            "rank": result.rank,
            "score": round(result.score, 4),
            "reasons": result.explanation.reasons,
        }
        for need, result in found
    ]
    return {"supplier_id": supplier_id, "name": supplier.name, "data": data, "count": len(data), "versions": engine.versions()}
