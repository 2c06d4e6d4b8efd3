"""Exports that open cleanly in a spreadsheet: CSV (UTF-8 with BOM) and XLSX, formulas neutralised.

Both formats show the same text: a cell starting with ``= + - @`` (or tab / carriage return)
gets a leading ``'`` so that no spreadsheet evaluates it as a formula (CSV injection). The XLSX
additionally writes every string as an explicit string cell, drops the control characters the
format cannot store, and keeps numbers as numeric cells.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import numbers
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matcher.data.schema import SEGMENT_LABELS_FR, SIZE_LABELS_FR
from matcher.ranking.shortlist import ShortlistEntry

if TYPE_CHECKING:  # the engine imports nothing from here; the type is only for readers and mypy
    from matcher.app.engine import Engine

__all__ = ["csv_bytes", "safe_cell", "safe_sheet_name", "write_csv", "write_xlsx", "xlsx_bytes"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Control characters XML 1.0 cannot carry (tab and newline are fine; CR is turned into a newline).
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XLSX_MAX_CELL = 32_767  # characters in one cell (Excel's limit)
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_SHEET_MAX = 31
_DEFAULT_SHEET = "Liste"
_MIN_WIDTH, _MAX_WIDTH = 6, 60


def safe_cell(value: Any) -> Any:
    """A cell that a spreadsheet shows as text: leading ``= + - @`` prefixed with ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """The CSV (comma-separated, UTF-8 with BOM, neutralised cells) as bytes, e.g. for a download."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(v) for v in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write :func:`csv_bytes` to ``path`` (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes(header, rows))


def safe_sheet_name(name: str) -> str:
    """A valid worksheet title: no ``[]:*?/\\`` nor control characters, at most 31 characters.

    Forbidden characters become ``-``; leading and trailing apostrophes and spaces are dropped
    (Excel refuses them); an empty result falls back to ``"Liste"``.
    """
    title = _SHEET_FORBIDDEN.sub("-", str(name)).strip(" '")[:_SHEET_MAX].strip(" '")
    return title or _DEFAULT_SHEET


def _xlsx_text(value: str) -> str:
    """The text of a string cell: neutralised like the CSV, then cleaned of what XLSX cannot store."""
    text = safe_cell(value)
    text = _XLSX_ILLEGAL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = safe_cell(text)  # stripping may have uncovered a leading "=" (e.g. "\x01=CMD()")
    return text[:_XLSX_MAX_CELL]


def _xlsx_value(value: Any) -> Any:
    """A value openpyxl stores as a typed cell: number, boolean, naive date/time, text or empty."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None  # Excel has no NaN nor infinity
    if isinstance(value, dt.datetime | dt.time):
        if value != value:  # pandas.NaT
            return None
        return value if value.tzinfo is None else value.isoformat()  # Excel has no time zones
    if isinstance(value, dt.date):
        return value
    return str(value)


def _display_width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, float):
        return len(f"{value:.6g}")
    return max((len(line) for line in str(value).split("\n")), default=0)


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str = _DEFAULT_SHEET) -> bytes:
    """The rows as an XLSX workbook of one sheet: bold frozen header, filter, fitted column widths.

    Numbers stay numeric cells (NaN and infinities become empty cells); every string is written
    as an explicit string cell (never a formula), neutralised like :func:`csv_bytes` and without
    the control characters XLSX cannot store. ``sheet`` is passed through :func:`safe_sheet_name`.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = safe_sheet_name(sheet)
    widths: dict[int, int] = {}

    def put(row_index: int, values: Sequence[Any]) -> None:
        for column, raw in enumerate(values, start=1):
            value = _xlsx_value(raw)
            cell = worksheet.cell(row=row_index, column=column)
            if isinstance(value, str):
                cell.value = _xlsx_text(value)
                cell.data_type = "s"  # explicit: openpyxl would otherwise read "=..." as a formula
            else:
                cell.value = value
            widths[column] = max(widths.get(column, 0), _display_width(cell.value))

    put(1, list(header))
    bold = Font(bold=True)
    for cell in worksheet[1]:
        cell.font = bold
    n_rows = 1
    for row in rows:
        n_rows += 1
        put(n_rows, list(row))

    for column, width in widths.items():
        worksheet.column_dimensions[get_column_letter(column)].width = min(max(width + 2, _MIN_WIDTH), _MAX_WIDTH)
    worksheet.freeze_panes = "A2"
    if widths:
        worksheet.auto_filter.ref = f"A1:{get_column_letter(max(widths))}{n_rows}"

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_xlsx(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str = _DEFAULT_SHEET) -> None:
    """Write :func:`xlsx_bytes` to ``path`` (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(xlsx_bytes(header, rows, sheet=sheet))


#: the columns of a shortlist export, in French (what staff read): the same file from the CLI and the service
SHORTLIST_COLUMNS = [
    "Acheteur (id)",
    "Acheteur",
    "Rang",
    "Start-up (id)",
    "Start-up",
    "Score",
    "Région",
    "Segments",
    "Taille",
    "PME",
    "Étiquettes",
    "Besoins couverts",
    "Raisons",
    "Site web",
    "Versions",
]


def shortlist_rows(engine: Engine, buyer_id: str, buyer_name: str, entries: list[ShortlistEntry]) -> list[list[Any]]:
    """One export row per start-up of a ministry's list (``SHORTLIST_COLUMNS``), stamped with the versions that ranked it."""
    versions = engine.versions()
    stamp = f"encodeur {versions['encoder']} ; index {versions['index']} ; second étage {versions['reranker']}"
    rows = []
    for e in entries:
        s = engine.corpus.suppliers[e.supplier]
        rows.append(
            [
                buyer_id,
                buyer_name,
                e.rank,
                s.supplier_id,
                s.name,
                e.score,
                s.region,
                ", ".join(SEGMENT_LABELS_FR.get(code, code) for code in s.segments),
                SIZE_LABELS_FR.get(s.size, ""),
                "oui" if s.is_sme else "non",
                ", ".join(s.tags),
                "; ".join(f"{t} (rang {r})" for _, t, r in e.needs),
                " | ".join(e.explanation.reasons) if e.explanation else "",
                s.website,
                stamp,
            ]
        )
    return rows
