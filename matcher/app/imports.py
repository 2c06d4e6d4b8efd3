"""Importing a file into the catalogue: the one import path of the CLI, the service and the sample.

The file is read with per-row errors (``matcher.data.ingest``); its good rows, the import's log
line and — when a person imported it — the audit entry are stored in one transaction: all of
them, or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from matcher.data.catalogue import Catalogue
from matcher.data.ingest import ImportReport, read_labels, read_needs, read_suppliers

#: what a file may hold
KINDS = ("suppliers", "needs", "labels")


@dataclass
class ImportResult:
    """What an import read and stored."""

    kind: str
    report: ImportReport
    inserted: int
    updated: int


def import_file(catalogue: Catalogue, kind: str, path: str | Path, source: str, actor: str | None = None) -> ImportResult:
    """Read ``path`` as ``kind`` records and store the good rows (suppliers merged, needs replaced, labels upserted).

    ``source`` is recorded in the import log; ``actor`` (who imported it) adds an audit entry.
    ``ValueError`` for an unknown kind; ``InputFileError`` when the file cannot be read at all.
    """
    if kind not in KINDS:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if kind == "suppliers":
        suppliers, report = read_suppliers(path)
        records: list = suppliers
    elif kind == "needs":
        needs, report = read_needs(path)
        records = needs
    else:
        labels, report = read_labels(path)
        records = labels
    with catalogue.transaction() as tx:
        if kind == "suppliers":
            inserted, updated = tx.upsert_suppliers(suppliers) if records else (0, 0)
        elif kind == "needs":
            inserted, updated = tx.upsert_needs(needs) if records else (0, 0)
        else:
            inserted, updated = tx.upsert_labels(labels), 0
        tx.log_import(kind, source, report.read, report.accepted, report.rejected)
        if actor is not None:
            tx.audit(
                actor, f"{kind}.import", f"{len(records)} {kind}", {"inserted": inserted, "updated": updated, "rejected": report.rejected}
            )
    return ImportResult(kind, report, inserted, updated)
