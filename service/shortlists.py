"""Ministry shortlists, the cross-ministry view with exposure balancing, exports and statistics."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException
from fastapi import Query as QueryParam
from fastapi.responses import Response

from matcher.app import Engine, NotFoundError, outcomes, shortlists
from matcher.app.export import SHORTLIST_COLUMNS, csv_bytes, shortlist_rows, xlsx_bytes
from matcher.app.feedback import verdict_counts
from matcher.app.vocabulary import ShortlistEntry

from .auth import Caller, Staff, check_buyer
from .deps import EngineDep, FiltersDep, IdParam, KParam
from .schemas import ERROR_RESPONSES, CrossShortlistsOut, ShortlistOut, StatsOut

router = APIRouter(tags=["shortlists"], responses=ERROR_RESPONSES)

Format = Literal["csv", "xlsx"]
CapParam = Annotated[int | None, QueryParam(ge=1, le=1000, description="a start-up appears in at most this many ministries' lists")]
TradeOffParam = Annotated[
    float, QueryParam(ge=0.0, le=1.0, description="0: pure relevance; 1: strongest preference for start-ups not yet shown")
]


def _entry_out(engine: Engine, e: ShortlistEntry) -> dict[str, Any]:
    s = engine.corpus.suppliers[e.supplier]
    return {
        "rank": e.rank,
        "supplier_id": s.supplier_id,
        "name": s.name,
        "region": s.region,
        "segments": s.segments,
        "size": s.size,
        "is_sme": s.is_sme,
        "score": e.score,
        "needs": [{"need_id": n, "title": t, "rank": r} for n, t, r in e.needs],
        "reasons": e.explanation.reasons if e.explanation else [],
    }


def _download(rows: list[list[Any]], fmt: str, stem: str) -> Response:
    if fmt == "xlsx":
        content, media = (
            xlsx_bytes(SHORTLIST_COLUMNS, rows, sheet="Start-up pertinentes"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        content, media = csv_bytes(SHORTLIST_COLUMNS, rows), "text/csv; charset=utf-8"
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})


def _shortlist(engine: Engine, buyer_id: str, k: int, filters) -> tuple[list, list[ShortlistEntry]]:
    try:
        return shortlists.shortlist(engine, buyer_id, k, filters=filters)
    except NotFoundError as exc:
        raise HTTPException(404, detail=f"buyer_id : {exc}") from None


@router.get("/buyers/{buyer_id}/shortlist", response_model=ShortlistOut)
def buyer_shortlist(buyer_id: IdParam, principal: Caller, engine: EngineDep, filters: FiltersDep, k: KParam = 10) -> ShortlistOut:
    """A buyer's (ministry's) shortlist over all its recorded needs."""
    check_buyer(principal, buyer_id)
    needs, entries = _shortlist(engine, buyer_id, k, filters)
    name = next((n.buyer_name for n in needs if n.buyer_name), "")
    results = [_entry_out(engine, e) for e in entries]
    return ShortlistOut.model_validate(
        {
            "buyer_id": buyer_id,
            "buyer_name": name,
            "n_needs": len(needs),
            "results": results,
            "count": len(results),
            "versions": engine.versions(),
        }
    )


@router.get(
    "/buyers/{buyer_id}/shortlist/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}},
)
def export_buyer_shortlist(
    buyer_id: IdParam, principal: Staff, engine: EngineDep, filters: FiltersDep, format: Format = "csv", k: KParam = 10
) -> Response:  # noqa: A002
    """A ministry's shortlist as CSV (UTF-8 with BOM) or XLSX, French headers (staff)."""
    needs, entries = _shortlist(engine, buyer_id, k, filters)
    name = next((n.buyer_name for n in needs if n.buyer_name), "")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in buyer_id)[:60]
    outcomes.snapshot_shortlist(engine, buyer_id, entries, f"export-{format}", principal.label)  # the list as sent, dated
    return _download(shortlist_rows(engine, buyer_id, name, entries), format, f"liste-{safe}")


@router.get("/shortlists", response_model=CrossShortlistsOut)
def all_shortlists(
    principal: Staff, engine: EngineDep, filters: FiltersDep, k: KParam = 10, cap: CapParam = None, trade_off: TradeOffParam = 0.0
) -> dict:
    """Every ministry's list (staff), with exposure balancing and the exposure before / after."""
    cross = shortlists.all_shortlists(engine, k, filters=filters, cap=cap, trade_off=trade_off)
    names = {b: n for b, n, _ in engine.catalogue.buyers()}
    lists = [
        {"buyer_id": b, "buyer_name": names.get(b, ""), "n_needs": len(needs), "results": [_entry_out(engine, e) for e in entries]}
        for b, (needs, entries) in cross.lists.items()
    ]
    return {
        "k": k,
        "cap": cap,
        "trade_off": trade_off,
        "lists": lists,
        "exposure_before": cross.before.to_dict(),
        "exposure_after": cross.after.to_dict(),
        "versions": engine.versions(),
    }


@router.get(
    "/shortlists/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}},
)
def export_all_shortlists(
    principal: Staff,
    engine: EngineDep,
    filters: FiltersDep,
    format: Format = "csv",
    k: KParam = 10,
    cap: CapParam = None,
    trade_off: TradeOffParam = 0.0,
) -> Response:  # noqa: A002
    """All ministries' (balanced) lists in one file (staff)."""
    cross = shortlists.all_shortlists(engine, k, filters=filters, cap=cap, trade_off=trade_off)
    names = {b: n for b, n, _ in engine.catalogue.buyers()}
    rows = [row for b, (_, entries) in cross.lists.items() for row in shortlist_rows(engine, b, names.get(b, ""), entries)]
    for b, (_, entries) in cross.lists.items():  # each ministry's list as sent, dated
        outcomes.snapshot_shortlist(engine, b, entries, f"export-{format}", principal.label)
    return _download(rows, format, "listes-ministeres")


@router.get("/stats", response_model=StatsOut)
def statistics(principal: Staff, engine: EngineDep, k: KParam = 10) -> dict:
    """What the ministries' shortlists contain, per region, segment, size and ministry (staff)."""
    return {**shortlists.statistics(engine, k), "feedback": verdict_counts(engine.catalogue), "versions": engine.versions()}
