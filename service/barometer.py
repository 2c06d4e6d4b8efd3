"""The barometer over HTTP: its figures as JSON and their export (staff); what the lists sent led to —
the funnel and the awards detected (staff: every organisation; a buyer: its own)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException
from fastapi import Query as QueryParam
from fastapi.responses import Response

from matcher.app import barometer, outcomes
from matcher.app.export import csv_bytes, xlsx_bytes
from matcher.settings import Settings

from .auth import Caller, Staff, check_buyer
from .deps import EngineDep, OptionalBuyerParam, get_settings
from .schemas import ERROR_RESPONSES, BarometerOut, FunnelOut, OutcomesOut

router = APIRouter(tags=["barometer"], responses=ERROR_RESPONSES)

ByParam = Annotated[
    str,
    QueryParam(
        max_length=100,
        pattern=r"^[a-z,]*$",
        description="comma-separated dimensions: year, quarter, ministry, region, division, procedure (default: year)",
    ),
]
StateParam = Annotated[bool, QueryParam(description="the State's buyers only (ministries: the scope of the 4 % target)")]
YearParam = Annotated[int | None, QueryParam(ge=2010, le=2100, description="one year only")]

#: the export's columns: French titles, and the figures' keys (dimensions first)
MEASURE_COLUMNS = (
    ("Contrats", "contracts"),
    ("Montant (€ HT)", "amount"),
    ("Montant aux entreprises innovantes (€ HT)", "innovative_amount"),
    ("Part des entreprises innovantes", "innovative_share"),
    ("Montant aux PME (€ HT)", "sme_amount"),
    ("Part des PME", "sme_share"),
    ("Part à taille inconnue", "sme_unknown_share"),
    ("Montant à indicateur « marché innovant » renseigné (€ HT)", "flag_known_amount"),
    ("Part signalée innovante par l'acheteur", "flagged_share"),
    ("Signalé innovant, titulaire non étiqueté (€ HT)", "flagged_not_labelled"),
    ("Titulaire étiqueté, non signalé innovant (€ HT)", "labelled_not_flagged"),
    ("Lignes sans montant ou titulaire exploitable", "unusable"),
    ("Cible de la trajectoire", "target_share"),
)
DIMENSION_TITLES = {
    "year": "Année",
    "quarter": "Trimestre",
    "ministry": "Ministère ou famille d'acheteurs",
    "region": "Région",
    "division": "Division CPV",
    "procedure": "Procédure",
}


def _figures(settings: Settings, by: str, state: bool, year: int | None) -> dict[str, Any]:
    dimensions = [d for d in by.split(",") if d] or ["year"]
    if len(dimensions) > 3 or len(set(dimensions)) != len(dimensions):
        raise HTTPException(422, detail="by : au plus trois dimensions, chacune une fois")
    try:
        return barometer.barometer_figures(settings, dimensions, state, year)
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except barometer.BarometerBusy as exc:
        raise HTTPException(503, detail=str(exc), headers={"Retry-After": "60"}) from None


@router.get("/barometer", response_model=BarometerOut)
def barometer_figures(
    principal: Staff,
    settings: Annotated[Settings, Depends(get_settings)],
    by: ByParam = "year",
    state: StateParam = False,
    year: YearParam = None,
) -> dict[str, Any]:
    """The share of purchases won by labelled innovative companies and SMEs, and the share the buyers
    flagged innovative, grouped by ``by``, with the 4 % trajectory (staff: the mission's figures)."""
    return _figures(settings, by, state, year)


@router.get(
    "/barometer/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}},
)
def barometer_export(
    principal: Staff,
    settings: Annotated[Settings, Depends(get_settings)],
    format: Literal["csv", "xlsx"] = "csv",  # noqa: A002 - the query parameter's name
    by: ByParam = "year",
    state: StateParam = False,
    year: YearParam = None,
) -> Response:
    """The same figures as a spreadsheet (CSV as French Excel reads it, or XLSX), French column titles."""
    report = _figures(settings, by, state, year)
    header = [DIMENSION_TITLES[d] for d in report["by"]] + [title for title, _ in MEASURE_COLUMNS]
    rows = [[row.get(d) for d in report["by"]] + [row.get(key) for _, key in MEASURE_COLUMNS] for row in report["rows"]]
    stem = f"barometre-{'-'.join(report['by'])}{'-etat' if state else ''}{f'-{year}' if year else ''}"
    if format == "xlsx":
        content = xlsx_bytes(header, rows, sheet="Baromètre")
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        content, media = csv_bytes(header, rows), "text/csv; charset=utf-8"
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{stem}.{format}"'})


def _organisation(principal: Caller, buyer_id: str | None) -> str | None:
    """The organisation a caller asks about: staff any (``None``: all), a buyer its own only (404 for another's)."""
    if buyer_id is not None:
        check_buyer(principal, buyer_id)
        return buyer_id
    return None if principal.is_staff else principal.buyer_id


@router.get("/outcomes/funnel", response_model=FunnelOut)
def outcomes_funnel(principal: Caller, engine: EngineDep, buyer_id: OptionalBuyerParam = None) -> dict[str, Any]:
    """Per organisation, the start-ups of the lists sent: listed → judged pertinent → contacted → pitched →
    contracted (verdicts) → awarded (awards detected after the list's date). A buyer key: its organisation's."""
    rows = outcomes.funnel(engine.catalogue, _organisation(principal, buyer_id))
    return {"stages": list(outcomes.STAGES), "data": rows, "count": len(rows)}


@router.get("/outcomes", response_model=OutcomesOut)
def outcomes_list(principal: Caller, engine: EngineDep, buyer_id: OptionalBuyerParam = None) -> dict[str, Any]:
    """The awards detected for listed start-ups, earliest first, with their delay after the list (a buyer key: its organisation's)."""
    rows = outcomes.outcome_rows(engine.catalogue, _organisation(principal, buyer_id))
    return {"data": rows, "count": len(rows)}
