"""Importing into the catalogue: a records file (suppliers, needs, labels), the DECP award files, the
i-Lab laureates. The one import path of the CLI, the service and the sample.

Each reads with per-row errors (``matcher.data.ingest``, ``decp``, ``ilab``); its good rows, the
import's log line and — when a person imported it — the audit entry are stored in one
transaction: all of them, or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from matcher.data.catalogue import Catalogue, Writes
from matcher.data.decp import buyers_from_awards, read_awards, suppliers_from_awards
from matcher.data.ilab import read_ilab
from matcher.data.ingest import ImportReport, read_labels, read_needs, read_suppliers

#: what a records file may hold
KINDS = ("suppliers", "needs", "labels")  # the keys of _RECORDS, in this order


@dataclass
class ImportResult:
    """What an import read and stored."""

    kind: str
    report: ImportReport
    inserted: int
    updated: int
    #: DECP only: distinct awards read, and buyers the catalogue did not know
    awards: int = 0
    new_buyers: int = 0


def _suppliers(tx: Writes, suppliers: list) -> tuple[int, int]:
    return tx.upsert_suppliers(suppliers) if suppliers else (0, 0)


def _needs(tx: Writes, needs: list) -> tuple[int, int]:
    return tx.upsert_needs(needs) if needs else (0, 0)


def _labels(tx: Writes, labels: list) -> tuple[int, int]:
    return tx.upsert_labels(labels), 0


#: each kind of records file: how it is read, how its good rows are stored (inserted, updated)
_RECORDS: dict[str, tuple[Callable[[str | Path], tuple[list, ImportReport]], Callable[[Writes, list], tuple[int, int]]]] = {
    "suppliers": (read_suppliers, _suppliers),
    "needs": (read_needs, _needs),
    "labels": (read_labels, _labels),
}


def import_file(catalogue: Catalogue, kind: str, path: str | Path, source: str, actor: str | None = None) -> ImportResult:
    """Read ``path`` as ``kind`` records and store the good rows (suppliers merged, needs replaced, labels upserted).

    ``source`` is recorded in the import log; ``actor`` (who imported it) adds an audit entry.
    ``ValueError`` for an unknown kind; ``InputFileError`` when the file cannot be read at all.
    """
    if kind not in _RECORDS:
        raise ValueError(f"kind : {kind!r} n'est pas l'un de {', '.join(KINDS)}")
    read, store = _RECORDS[kind]
    records, report = read(path)
    with catalogue.transaction() as tx:
        inserted, updated = store(tx, records)
        _logged(tx, kind, source, report, actor, len(records), inserted, updated)
    return ImportResult(kind, report, inserted, updated)


def import_decp(catalogue: Catalogue, paths: Iterable[str | Path], actor: str | None = None) -> ImportResult:
    """The award holders of DECP files as suppliers (merged), and their buyers."""
    paths = list(paths)
    awards, report = read_awards(paths)
    suppliers = suppliers_from_awards(awards)
    known = catalogue.counts()["buyers"]
    with catalogue.transaction() as tx:
        inserted, updated = _suppliers(tx, suppliers)
        tx.upsert_buyers(buyers_from_awards(awards))
        _logged(tx, "decp", ";".join(map(str, paths)), report, actor, len(suppliers), inserted, updated)
    return ImportResult("decp", report, inserted, updated, awards=len(awards), new_buyers=catalogue.counts()["buyers"] - known)


def import_ilab(catalogue: Catalogue, path: str | Path, actor: str | None = None) -> ImportResult:
    """The i-Lab laureates file as suppliers (a company that won twice merged)."""
    suppliers, report = read_ilab(path)
    with catalogue.transaction() as tx:
        inserted, updated = _suppliers(tx, suppliers)
        _logged(tx, "ilab", str(path), report, actor, len(suppliers), inserted, updated)
    return ImportResult("ilab", report, inserted, updated)


def _logged(tx: Writes, kind: str, source: str, report: ImportReport, actor: str | None, n: int, inserted: int, updated: int) -> None:
    """The import's log line and, when a person imported it, its audit entry (same transaction)."""
    tx.log_import(kind, source, report.read, report.accepted, report.rejected)
    if actor is not None:
        tx.audit(actor, f"{kind}.import", f"{n} {kind}", {"inserted": inserted, "updated": updated, "rejected": report.rejected})


#: the spreadsheet templates staff download: file name → (kind, format)
TEMPLATES = {f"{kind}.{fmt}": (kind, fmt) for kind in ("besoins", "fournisseurs") for fmt in ("csv", "xlsx")}
TEMPLATE_MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def template(name: str) -> tuple[bytes, str] | None:
    """The template file ``name`` (``besoins.csv``, ``fournisseurs.xlsx`` …) and its media type, or ``None``."""
    from matcher.data import templates

    if name not in TEMPLATES:
        return None
    kind, fmt = TEMPLATES[name]
    content = templates.template_csv(kind) if fmt == "csv" else templates.template_xlsx(kind)  # type: ignore[arg-type]
    return content, TEMPLATE_MEDIA_TYPES[fmt]
