"""Shared request dependencies: the engine, the settings and common parameters."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi import Path as PathParam
from fastapi import Query as QueryParam
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, ValidationError

from matcher.app import Engine
from matcher.app.vocabulary import Filters
from matcher.settings import MAX_K, Settings

from .schemas import FiltersIn, canonical_api_id


def get_engine(request: Request) -> Engine:
    """The served engine, taken once: the request keeps this version to its end (``matcher.app.Served``)."""
    return request.app.state.served.engine


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_filters(
    segments: Annotated[list[str], QueryParam(max_length=10, description="any of these purchase segments")] = [],  # noqa: B006
    regions: Annotated[list[str], QueryParam(max_length=30, description="any of these regions")] = [],  # noqa: B006
    tags: Annotated[list[str], QueryParam(max_length=20, description="all of these tags")] = [],  # noqa: B006
    sizes: Annotated[list[str], QueryParam(max_length=4, description="any of these company sizes")] = [],  # noqa: B006
) -> Filters:
    """Filters from query parameters, validated like the JSON ones (422 naming the field)."""
    try:
        checked = FiltersIn(segments=segments, regions=regions, tags=tags, sizes=sizes)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False, include_context=False)]
        ) from None
    return Filters(checked.segments, checked.regions, checked.tags, checked.sizes)


def get_deadline(request: Request) -> float:
    """When this request's time budget (``Settings.request_budget_seconds``) runs out, on ``time.monotonic()``'s clock."""
    received = getattr(request.state, "received_at", None) or time.monotonic()
    return received + request.app.state.settings.request_budget_seconds


EngineDep = Annotated[Engine, Depends(get_engine)]
DeadlineDep = Annotated[float, Depends(get_deadline)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
FiltersDep = Annotated[Filters, Depends(get_filters)]
KParam = Annotated[int, QueryParam(ge=1, le=MAX_K, description="number of results")]
#: an id in a URL path, put in its canonical form (``matcher.data.fields.canonical_id``) or refused with 422
IdParam = Annotated[str, PathParam(min_length=1, max_length=200), AfterValidator(canonical_api_id)]
#: an optional buyer organisation in a query string, canonical too
OptionalBuyerParam = Annotated[
    str | None,
    QueryParam(min_length=1, max_length=200, description="one buyer organisation (a buyer key: its own)"),
    AfterValidator(lambda v: None if v is None else canonical_api_id(v)),
]
