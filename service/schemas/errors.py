"""The one error shape of every answer that is not a success."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorOut(BaseModel):
    """Every error answer: a stable machine ``code`` (``messages.STATUS_CODES``), a French ``detail``
    that names the field (or what was refused), and ``errors``: each invalid field with its own
    ``code`` and French ``message``."""

    code: str
    detail: str
    errors: list[dict[str, Any]] = []


#: the error answers every router documents (instead of FastAPI's default 422 only)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (400, "malformed body (not JSON, not UTF-8)"),
        (401, "no API key, or an unknown / revoked one"),
        (403, "the key's role may not use this route"),
        (404, "unknown id, or another organisation's record"),
        (409, "conflict (existing id, not held out)"),
        (413, "request body larger than the route's limit"),
        (422, "invalid input: the field is named"),
        (429, "too many requests for this key: wait ``Retry-After`` seconds"),
        (503, "the service is saturated or the request exceeded its time budget: retry after ``Retry-After`` seconds"),
    )
}
