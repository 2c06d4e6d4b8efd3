"""The barometer's use cases: import the DECP, load who counts as innovative, map buyers, read the figures.

What the CLI (``matcher barometer``) and the service call; each opens the settings' DuckDB file
(``Settings.barometer_path``) for the time of the call.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.app.catalogue import open_catalogue
from matcher.barometer.figures import DIMENSIONS, EMPTY_TOTALS, figures, totals, trajectory, unmapped_buyers
from matcher.barometer.labels import CATALOGUE_SOURCE, ILAB_SOURCE, LabelRead, catalogue_labels, file_labels, ilab_labels
from matcher.barometer.store import BarometerStore, ImportResult
from matcher.data.ingest import RowError, read_rows
from matcher.settings import Settings

__all__ = [
    "DIMENSIONS",
    "BarometerBusy",
    "BuyerMapping",
    "LabelLoad",
    "barometer_figures",
    "buyers_csv",
    "import_decp",
    "load_labels",
    "map_buyers",
    "trajectory",
]


@contextmanager
def _store(settings: Settings) -> Iterator[BarometerStore]:
    settings.ensure_dirs()
    store = BarometerStore(settings.barometer_path)
    try:
        yield store
    finally:
        store.close()


def import_decp(settings: Settings, files: list[Path], today: str | None = None) -> ImportResult:
    """Import published DECP files (JSON 2019/2022, tabular CSV/Parquet) into the barometer; idempotent."""
    with _store(settings) as store:
        return store.import_files(files, today)


@dataclass
class LabelLoad:
    """What loading labels did: per source, labels stored and rows refused."""

    loaded: dict[str, int]
    errors: list[RowError]
    sme: int = 0


def load_labels(settings: Settings, ilab: Path | None = None, files: list[Path] | None = None, catalogue: bool = False) -> LabelLoad:
    """Load labelled innovative companies: the i-Lab laureates file, staff files (their name as source
    unless a row names one), the catalogue's tagged start-ups and SME statuses. A source loaded again
    replaces what it loaded before; nothing of a source is stored when its file cannot be read."""
    loaded: dict[str, int] = {}
    errors: list[RowError] = []
    sme = 0
    reads: list[tuple[str, LabelRead]] = []
    if ilab is not None:
        reads.append((ILAB_SOURCE, ilab_labels(ilab)))
    for path in files or []:
        reads.append((path.stem, file_labels(path, path.stem)))
    with _store(settings) as store:
        for source, read in reads:
            errors.extend(read.errors)
            for name in {s for _, _, s, _ in read.labels} | {source}:
                store.remove_labels(name)
            loaded[source] = store.add_labels(read.labels)
        if catalogue:
            labels, statuses = catalogue_labels(open_catalogue(settings, with_sample=True).suppliers())
            store.remove_labels(CATALOGUE_SOURCE)
            loaded[CATALOGUE_SOURCE] = store.add_labels(labels)
            sme = store.set_sme(statuses)
    return LabelLoad(loaded, errors, sme)


@dataclass
class BuyerMapping:
    """What a mapping import did."""

    updated: int
    errors: list[RowError]


def map_buyers(settings: Settings, path: Path) -> BuyerMapping:
    """Staff's buyer mapping from a file (``buyer_id``, ``ministry``, optional ``region``, ``name``): each
    row overrides the rules for that buyer; a bad row is reported with its line and field."""
    errors: list[RowError] = []
    rows: list[tuple[str, str, str | None, str | None]] = []
    for line, row in read_rows(path):
        if isinstance(row, RowError):
            errors.append(row)
            continue
        buyer_id = "".join(str(row.get("buyer_id") or "").split())
        if not buyer_id:
            errors.append(RowError(str(path), line, "buyer_id", "est requis et vide"))
            continue
        ministry = str(row.get("ministry") or "").strip()
        rows.append((buyer_id, ministry, str(row.get("region") or "").strip() or None, str(row.get("name") or "").strip() or None))
    with _store(settings) as store:
        for buyer_id, ministry, region, name in rows:
            store.set_buyer(buyer_id, ministry or None, region, name)
    return BuyerMapping(len(rows), errors)


def buyers_csv(settings: Settings, unmapped_only: bool = False) -> str:
    """The buyer mapping as CSV (what staff edit and import back with ``map_buyers``)."""
    with _store(settings) as store:
        where = "WHERE ministry IS NULL" if unmapped_only else ""
        rows = store.query(f"SELECT buyer_id, name, ministry, region, origin FROM buyers {where} ORDER BY buyer_id")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["buyer_id", "name", "ministry", "region", "origin"])
    for row in rows:
        writer.writerow([row["buyer_id"], row["name"] or "", row["ministry"] or "", row["region"] or "", row["origin"]])
    return out.getvalue()


class BarometerBusy(RuntimeError):
    """The barometer's database is being written (an import runs): its figures cannot be read now."""


def barometer_figures(
    settings: Settings, by: list[str] | tuple[str, ...] = ("year",), state_only: bool = False, year: int | None = None
) -> dict[str, Any]:
    """The figures grouped by ``by``, with what the database holds and the buyers left unmapped; the
    database opened read-only (empty figures before any import; ``BarometerBusy`` while one runs).
    ``ValueError`` naming an unknown dimension."""
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown:
        raise ValueError(f"by : {', '.join(unknown)} inconnu (possibles : {', '.join(DIMENSIONS)})")
    report: dict[str, Any] = {"by": list(by), "state_only": state_only, "year": year}
    try:
        store = BarometerStore(settings.barometer_path, read_only=True)
    except FileNotFoundError:
        return report | {"rows": [], "totals": EMPTY_TOTALS, "unmapped_buyers": []}
    except Exception as exc:  # duckdb.IOException: the file is locked by the process importing into it
        if "lock" in str(exc).lower():
            raise BarometerBusy("le baromètre est en cours d'import : réessayez dans quelques minutes") from None
        raise
    try:
        return report | {
            "rows": figures(store, by, state_only, year),
            "totals": totals(store),
            "unmapped_buyers": unmapped_buyers(store, 20),
        }
    finally:
        store.close()
