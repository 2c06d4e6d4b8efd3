"""Files sent as the raw request body (no multipart): size limit, format by name, per-row errors."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request

from matcher.app.imports import ImportResult
from matcher.app.vocabulary import SUPPORTED, ImportReport, InputFileError


@asynccontextmanager
async def uploaded(request: Request, fmt: str) -> AsyncIterator[Path]:
    """The request body streamed into a private temporary file of format ``fmt`` (jsonl, csv, tsv, parquet, xlsx).

    The size cap is ``service.body.BodyLimit``'s (413 past ``MAX_UPLOAD_BYTES`` while it is read);
    422 for an unknown format, an empty body, or a file the block cannot read at all
    (``InputFileError``). The file name never comes from the client.
    """
    suffix = "." + fmt.lower().lstrip(".")
    if suffix not in SUPPORTED:
        raise HTTPException(422, detail=f"format : {fmt!r} n'est pas l'un de {', '.join(s.lstrip('.') for s in SUPPORTED)}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        with path.open("wb") as handle:
            async for chunk in request.stream():
                handle.write(chunk)
        if path.stat().st_size == 0:
            raise HTTPException(422, detail="file : le corps de la requête est vide")
        try:
            yield path
        except InputFileError as exc:
            raise HTTPException(422, detail=f"file : {str(exc).replace(str(path), 'upload')}") from None


def row_errors(report: ImportReport, limit: int = 50) -> list[str]:
    """The rejected rows as ``ligne N : champ : message`` (at most ``limit``)."""
    return [f"ligne {e.line} : {e.field} : {e.message}" for e in report.errors[:limit]]


def import_summary(result: ImportResult) -> dict[str, Any]:
    """What an API import answers: counts, and each rejected row by line and field."""
    report = result.report
    return {
        "read": report.read,
        "accepted": report.accepted,
        "inserted": result.inserted,
        "updated": result.updated,
        "rejected": report.rejected,
        "errors": row_errors(report),
    }
