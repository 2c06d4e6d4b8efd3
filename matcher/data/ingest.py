"""Reading suppliers, needs and labels from JSONL, CSV, TSV or Parquet files.

A bad row never aborts the file: it is reported (file, line, field, message) in an
``ImportReport`` and the good rows go on. Rows are numbered as a person would find them:
the line of a JSONL/CSV file (the CSV header is line 1), the row of a spreadsheet (its header
is row 1), the 1-based row of a Parquet file. A file broken beyond one row (undecodable, not a
Parquet or XLSX file) is an ``InputFileError`` naming where.

A CSV is read as a spreadsheet saves it: UTF-8 with or without a byte-order mark, or Windows-1252
(Excel's « CSV (séparateur : point-virgule) » on a French Windows), its cells separated by commas,
semicolons or tabs (whichever splits the header into the most columns). Its columns are named by
the interchange format's fields or by the templates' French titles (``matcher.data.templates``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from matcher.data.fields import RecordError
from matcher.data.schema import Label, Need, Supplier, merge_suppliers
from matcher.data.templates import Kind, canonical_row

T = TypeVar("T")
SUPPORTED = (".jsonl", ".csv", ".tsv", ".parquet", ".xlsx")
MAX_FILE_ERRORS_SHOWN = 50
#: the longest CSV cell read (the csv module's default, 131,072 characters, fails the whole file);
#: record validation then refuses a text field longer than ``schema.MAX_RECORD_TEXT_CHARS`` by row
MAX_CSV_CELL_CHARS = 64 * 1024 * 1024
#: the cell separators a ``.csv`` file may use (a ``.tsv`` file is tab-separated)
CSV_DELIMITERS = (",", ";", "\t")
#: a UTF-8 multi-byte character: a file holding some is UTF-8, even where one byte of it is broken
_UTF8_CHARACTER = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


class InputFileError(ValueError):
    """A file that cannot be read at all (missing, unsupported, undecodable)."""


@dataclass
class RowError:
    """One rejected row: where it is and what is wrong with it."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


@dataclass
class ImportReport:
    """What an import read, kept, merged and rejected."""

    read: int = 0
    accepted: int = 0
    merged: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    def add(self, other: ImportReport) -> None:
        self.read += other.read
        self.accepted += other.accepted
        self.merged += other.merged
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)

    def summary(self) -> str:
        """A one-paragraph French summary for staff, with the first errors."""
        lines = [f"{self.read} lignes lues, {self.accepted} acceptées, {self.merged} fusionnées (doublons), {self.rejected} rejetées."]
        for error in self.errors[:MAX_FILE_ERRORS_SHOWN]:
            lines.append(f"  rejet — {error}")
        if self.rejected > MAX_FILE_ERRORS_SHOWN:
            lines.append(f"  … et {self.rejected - MAX_FILE_ERRORS_SHOWN} autres rejets")
        for warning in self.warnings[:MAX_FILE_ERRORS_SHOWN]:
            lines.append(f"  avertissement — {warning}")
        return "\n".join(lines)


def read_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """Yield ``(line, row)`` for each record of a file, or ``(line, RowError)`` for an unreadable one."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: fichier introuvable")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _jsonl_rows(path)
    elif suffix in (".csv", ".tsv"):
        yield from _csv_rows(path, "\t" if suffix == ".tsv" else None)
    elif suffix == ".parquet":
        yield from _parquet_rows(path)
    elif suffix == ".xlsx":
        yield from _xlsx_rows(path)
    else:
        raise InputFileError(f"{path}: extension {suffix!r} non prise en charge (attendu : {', '.join(SUPPORTED)})")


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield number, RowError(str(path), number, "-", f"pas en UTF-8 valide (octet {exc.start})")
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, RowError(str(path), number, "-", f"JSON invalide : {exc.msg} (colonne {exc.colno})")
                continue
            except RecursionError:
                yield number, RowError(str(path), number, "-", "JSON invalide : imbriqué trop profondément")
                continue
            if not isinstance(obj, dict):
                yield number, RowError(str(path), number, "-", "un objet JSON est attendu")
                continue
            yield number, obj


def csv_text(path: Path) -> str:
    """The text of a CSV file: UTF-8 (a byte-order mark dropped), else Windows-1252 — unless the file
    holds UTF-8 characters, where a broken byte is an error naming its line, not a reason to misread the rest."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    if not _UTF8_CHARACTER.search(data):
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            pass
    line = data[: utf8_error.start].count(b"\n") + 1
    raise InputFileError(f"{path}:{line}: ni UTF-8 ni Windows-1252 valide (enregistrez le fichier en « CSV UTF-8 »)") from None


def csv_delimiter(text: str) -> str:
    """The separator among ``CSV_DELIMITERS`` that splits the header line into the most cells (a comma on a tie)."""
    header = text.split("\n", 1)[0]
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in CSV_DELIMITERS}
    return max(CSV_DELIMITERS, key=lambda d: (counts[d], -CSV_DELIMITERS.index(d)))


def _csv_rows(path: Path, delimiter: str | None) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """CSV records numbered by the line where each starts (the header is line 1); ``delimiter``
    ``None``: the one the header uses (``csv_delimiter``).

    Only ``\n``/``\r\n`` end a record (quoted cells may hold them); other Unicode line
    separators (U+0085, U+2028 …) are ordinary characters of a cell.
    """
    text = csv_text(path)
    delimiter = delimiter or csv_delimiter(text)
    csv.field_size_limit(MAX_CSV_CELL_CHARS)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise InputFileError(f"{path}:1: en-tête CSV illisible ({exc})") from None
    header = [h.strip() for h in header]
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # the reader cannot resynchronise after this: the rest of the file is refused
            raise InputFileError(f"{path}:{start}: CSV illisible à partir de cette ligne ({exc})") from None
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            yield line, RowError(str(path), line, "-", f"{len(cells)} cellules pour {len(header)} colonnes d'en-tête")
            continue
        yield line, {k: v for k, v in zip(header, cells) if k}


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """Rows of a Parquet file, read batch by batch; a value Python cannot hold (a timestamp out of
    range, say) rejects its row, naming the column, and the other rows go on."""
    import pyarrow.parquet as pq

    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=4096)
        number = 0
        for batch in batches:
            columns = {name: _arrow_values(batch.column(i)) for i, name in enumerate(batch.schema.names)}
            for i in range(batch.num_rows):
                number += 1
                bad = next((name for name, values in columns.items() if values[i] is _UNREADABLE), None)
                if bad is not None:
                    yield (
                        number,
                        RowError(
                            str(path), number, bad, "valeur hors limites ou illisible (par exemple une date hors des années 1 à 9999)"
                        ),
                    )
                else:
                    yield number, {name: values[i] for name, values in columns.items()}
    except InputFileError:
        raise
    except Exception as exc:  # pyarrow raises several types for broken files
        raise InputFileError(f"{path}: fichier Parquet illisible ({exc})") from None


_UNREADABLE = object()


def _arrow_values(column: Any) -> list[Any]:
    """A column's Python values; those that cannot be converted are ``_UNREADABLE``."""
    try:
        return column.to_pylist()
    except (OverflowError, ValueError, ArithmeticError):
        out = []
        for i in range(len(column)):
            try:
                out.append(column[i].as_py())
            except (OverflowError, ValueError, ArithmeticError):
                out.append(_UNREADABLE)
        return out


def _xlsx_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """Rows of the first sheet of a spreadsheet (header in row 1); dates become ``YYYY-MM-DD``."""
    import zipfile

    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError) as exc:
        raise InputFileError(f"{path}: fichier XLSX illisible ({exc})") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True) if book.worksheets else iter(())
        header = next(rows, None)
        if header is None:
            return
        names = [str(h).strip() if h is not None else "" for h in header]
        for number, cells in enumerate(rows, start=2):
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            if len(cells) > len(names) and any(c is not None for c in cells[len(names) :]):
                yield number, RowError(str(path), number, "-", f"{len(cells)} cellules pour {len(names)} colonnes d'en-tête")
                continue
            yield number, {k: _cell(v) for k, v in zip(names, cells) if k}
    finally:
        book.close()


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _read(
    path: str | Path, parse: Callable[[dict[str, Any]], T], key: Callable[[T], Any], kind: Kind | None = None
) -> tuple[list[T], ImportReport]:
    """Records of a file; ``kind``: its columns may carry the templates' French titles."""
    report = ImportReport()
    records: dict[Any, T] = {}
    for line, row in read_rows(path):
        report.read += 1
        if isinstance(row, RowError):
            report.errors.append(row)
            continue
        try:
            record = parse(canonical_row(row, kind) if kind else row)
        except RecordError as exc:
            report.errors.append(RowError(str(path), line, exc.field, exc.message))
            continue
        except (TypeError, ValueError, RecursionError) as exc:  # a value no field rule foresaw: the row, never the file
            report.errors.append(RowError(str(path), line, "-", f"enregistrement illisible ({type(exc).__name__})"))
            continue
        report.accepted += 1
        for issue in getattr(record, "issues", ()):
            report.warnings.append(f"{path}:{line}: {issue}")
        k = key(record)
        if k in records:
            report.merged += 1
            old = records[k]
            records[k] = merge_suppliers(old, record) if isinstance(record, Supplier) and isinstance(old, Supplier) else record  # type: ignore[assignment]
        else:
            records[k] = record
    return list(records.values()), report


def read_suppliers(path: str | Path) -> tuple[list[Supplier], ImportReport]:
    """Suppliers of a file; duplicates of a ``supplier_id`` are merged."""
    return _read(path, Supplier.from_raw, lambda s: s.supplier_id, "fournisseurs")


def read_needs(path: str | Path) -> tuple[list[Need], ImportReport]:
    """Needs of a file; a repeated ``need_id`` keeps its last version."""
    return _read(path, Need.from_raw, lambda n: n.need_id, "besoins")


def read_labels(path: str | Path) -> tuple[list[Label], ImportReport]:
    """Relevance labels (``qrels.tsv``); a repeated pair keeps its last grade."""
    return _read(path, Label.from_raw, lambda q: (q.need_id, q.supplier_id))


def find_file(folder: Path, stem: str) -> Path | None:
    """The ``stem.*`` file of a benchmark folder, in any supported format."""
    for suffix in SUPPORTED:
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def read_slices(path: str | Path) -> dict[str, list[str]]:
    """``slices.tsv`` as ``{need_id: [slice, …]}``."""
    slices: dict[str, list[str]] = {}
    for line, row in read_rows(path):
        if isinstance(row, RowError):
            raise InputFileError(str(row))
        need_id, name = (row.get("need_id") or "").strip(), (row.get("slice") or "").strip()
        if not need_id or not name:
            raise InputFileError(f"{path}:{line}: need_id et slice sont requis")
        names = slices.setdefault(need_id, [])
        if name not in names:
            names.append(name)
    return slices
