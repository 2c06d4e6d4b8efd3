"""The barometer's embedded DuckDB database: imported award rows, deduplicated; labels; buyers.

Tables:

- ``raw_awards``: every row read, appended by file in committed batches, counted once its import
  completes (a file imported again with the same content is skipped; with new content, its
  earlier rows are replaced when the new import completes; an import that fails or is killed
  leaves what was there before);
- ``awards``: ``raw_awards`` deduplicated by the **tabular consolidation's rule**
  (REFERENCES.md): a contract is its buyer id + its contract id (cleaned of spaces, commas, dots
  and slashes), and one row is kept per (contract, holder, notification date) — the one published
  last (``datePublicationDonnees``), then the first file imported. A contract published without an
  id is keyed by its buyer, folded object, date and amount instead. Rebuilt after every import:
  re-importing changes nothing;
- ``labels``: labelled innovative companies by SIREN (label, source, year), editable;
- ``companies``: SME status by SIREN where a source says it (else unknown, never guessed);
- ``buyers``: buyer id → name, ministry, region, and who set them (``règles`` or ``équipe``):
  staff entries are never overwritten by the rules;
- ``imports``: one row per imported file (content hash, rows, anomalies).

Rows go in through Arrow record batches (``BATCH_ROWS`` at a time) and DuckDB works under
``memory_limit``: a file of millions of awards is never held in memory at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from matcher.barometer.ministries import default_ministry
from matcher.barometer.sources import AwardRow, ImportSummary, read_awards
from matcher.data.text import fold

#: rows sent to DuckDB at once
BATCH_ROWS = 50_000
#: what DuckDB's buffer manager may use (it spills to disk beyond; measured: 5 million awards import
#: within 2 GB of resident memory, benchmarks/barometer_import.py)
MEMORY_LIMIT = "512MB"

_ROW_FIELDS = [f.name for f in fields(AwardRow) if f.name != "where"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS raw_awards (
    file VARCHAR, import_id VARCHAR, position BIGINT,
    source VARCHAR, layout VARCHAR, kind VARCHAR, contract_id VARCHAR, buyer_id VARCHAR, buyer_name VARCHAR,
    holder_id VARCHAR, holder_name VARCHAR, objet VARCHAR, cpv VARCHAR, procedure VARCHAR, amount DOUBLE,
    date DATE, published DATE, department VARCHAR, region VARCHAR, innovative_flag BOOLEAN, objet_key VARCHAR
);
CREATE TABLE IF NOT EXISTS labels (siren VARCHAR NOT NULL, label VARCHAR NOT NULL, source VARCHAR NOT NULL, year INTEGER,
    PRIMARY KEY (siren, label, source));
CREATE TABLE IF NOT EXISTS companies (siren VARCHAR PRIMARY KEY, sme BOOLEAN, source VARCHAR);
CREATE TABLE IF NOT EXISTS buyers (buyer_id VARCHAR PRIMARY KEY, name VARCHAR, ministry VARCHAR, region VARCHAR, origin VARCHAR);
CREATE TABLE IF NOT EXISTS imports (file VARCHAR PRIMARY KEY, sha256 VARCHAR, import_id VARCHAR, rows BIGINT, contracts BIGINT,
    rejected BIGINT, anomalies VARCHAR, imported_at TIMESTAMP);
"""

#: the deduplicated awards, from raw_awards (see the module's docstring for the rule)
DEDUP = """
CREATE OR REPLACE TABLE awards AS
WITH keyed AS (
    SELECT r.* EXCLUDE (import_id),
        CASE WHEN contract_id <> '' THEN buyer_id || '|' || contract_id
             ELSE buyer_id || '|' || objet_key || '|' || coalesce(CAST(date AS VARCHAR), '') || '|' || coalesce(CAST(amount AS VARCHAR), '')
        END AS contract_key
    FROM raw_awards r JOIN imports i ON i.import_id = r.import_id  -- the rows of each file's completed import only
)
, kept AS (
    SELECT * EXCLUDE (objet_key) FROM keyed
    QUALIFY row_number() OVER (
        PARTITION BY contract_key, coalesce(holder_id, ''), date ORDER BY published DESC NULLS LAST, file, position
    ) = 1
)
-- holders: how many holders share the contract's amount (co-contracting)
SELECT *, count(*) OVER (PARTITION BY contract_key, date) AS holders FROM kept
"""


@dataclass
class FileImport:
    """What importing one file did."""

    file: str
    skipped: bool  # same content as already imported
    summary: ImportSummary = field(default_factory=ImportSummary)


@dataclass
class ImportResult:
    """What an import did: per file, and the deduplicated totals after it."""

    files: list[FileImport]
    raw_rows: int
    awards: int
    contracts: int
    duplicates: int  # raw rows the dedup rule removed

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": [
                {
                    "file": f.file,
                    "skipped": f.skipped,
                    "rows": f.summary.rows,
                    "contracts": f.summary.contracts,
                    "rejected": f.summary.rejected,
                    "anomalies": dict(f.summary.anomalies),
                    "examples": f.summary.examples,
                }
                for f in self.files
            ],
            "raw_rows": self.raw_rows,
            "awards": self.awards,
            "contracts": self.contracts,
            "duplicates_removed": self.duplicates,
        }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class BarometerStore:
    """The barometer's DuckDB file (created on first use)."""

    def __init__(self, path: str | Path, memory_limit: str = MEMORY_LIMIT, threads: int | None = None, read_only: bool = False) -> None:
        """Open (or create) the database; ``read_only``: an existing one, for reading figures while
        nothing writes (``FileNotFoundError`` when there is none yet)."""
        import duckdb  # the embedded analytical engine: imported when the barometer is used

        self.path = Path(path)
        if read_only and not self.path.is_file():
            raise FileNotFoundError(f"{self.path} : aucun import DECP pour l'instant (matcher barometer import)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(self.path), read_only=read_only)
        self.run(f"SET memory_limit = '{memory_limit}'")
        self.run("SET preserve_insertion_order = false")
        if threads:
            self.run(f"SET threads = {int(threads)}")
        if not read_only:
            self.run(SCHEMA)
            if not self._has_table("awards"):
                self.run(DEDUP)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> BarometerStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _has_table(self, name: str) -> bool:
        return bool(self.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]))

    def run(self, sql: str, params: list[Any] | None = None) -> None:
        """Execute a statement and consume its result (DuckDB refuses the next call on an unread one)."""
        self.con.execute(sql, params or []).fetchall()

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Rows of a query as dicts."""
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.run("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.run("ROLLBACK")
            raise
        self.run("COMMIT")

    # -- awards --------------------------------------------------------------------------
    def import_files(self, paths: Iterable[str | Path], today: str | None = None) -> ImportResult:
        """Import published DECP files (JSON 2019/2022, tabular CSV/Parquet), then rebuild the
        deduplicated ``awards``. A file imported before with the same content is skipped; with another
        content, its earlier rows are replaced. A file that cannot be read raises ``ValueError`` naming
        it, and nothing of it is kept (what was stored before stays)."""
        done: list[FileImport] = []
        # rows of an import that never completed (the process was killed): not counted, removed now
        self.run("DELETE FROM raw_awards WHERE import_id NOT IN (SELECT import_id FROM imports)")
        for path in paths:
            path = Path(path)
            if not path.is_file():
                raise ValueError(f"{path} : fichier introuvable")
            digest = _sha256(path)
            if self.scalar("SELECT sha256 FROM imports WHERE file = ?", [path.name]) == digest:
                done.append(FileImport(path.name, skipped=True))
                continue
            summary = ImportSummary()
            import_id = uuid.uuid4().hex
            try:  # appended in committed batches (one transaction of millions of rows would hold them in memory) …
                self._append(path.name, import_id, read_awards(path, summary, today))
            except BaseException:
                self.run("DELETE FROM raw_awards WHERE import_id = ?", [import_id])
                raise
            with self._transaction():  # … and made the file's rows in one short step: the earlier import's go
                self.run("DELETE FROM raw_awards WHERE file = ? AND import_id <> ?", [path.name, import_id])
                self.run(
                    "INSERT OR REPLACE INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        path.name,
                        digest,
                        import_id,
                        summary.rows,
                        summary.contracts,
                        summary.rejected,
                        json.dumps(dict(summary.anomalies), ensure_ascii=False),
                        dt.datetime.now(),
                    ],
                )
            done.append(FileImport(path.name, skipped=False, summary=summary))
        self.run(DEDUP)
        self._map_new_buyers()
        raw = int(self.scalar("SELECT count(*) FROM raw_awards"))
        awards = int(self.scalar("SELECT count(*) FROM awards"))
        contracts = int(self.scalar("SELECT count(DISTINCT contract_key) FROM awards"))
        return ImportResult(done, raw, awards, contracts, raw - awards)

    def _append(self, file: str, import_id: str, rows: Iterable[AwardRow]) -> None:
        import pyarrow as pa

        columns: dict[str, list[Any]] = {name: [] for name in _ROW_FIELDS}
        positions: list[int] = []
        keys: list[str] = []

        def flush() -> None:
            if not positions:
                return
            table = pa.table(
                {
                    "file": pa.array([file] * len(positions), pa.string()),
                    "import_id": pa.array([import_id] * len(positions), pa.string()),
                    "position": pa.array(positions, pa.int64()),
                    **{name: columns[name] for name in _ROW_FIELDS},
                    "objet_key": pa.array(keys, pa.string()),
                }
            )
            self.con.register("batch", table)
            self.run(
                "INSERT INTO raw_awards SELECT file, import_id, position, source, layout, kind, contract_id, buyer_id, buyer_name, holder_id, "
                "holder_name, objet, cpv, procedure, amount, CAST(date AS DATE), TRY_CAST(published AS DATE), department, region, "
                "innovative_flag, objet_key FROM batch"
            )
            self.con.unregister("batch")
            for values in columns.values():
                values.clear()
            positions.clear()
            keys.clear()

        for i, row in enumerate(rows):
            for name in _ROW_FIELDS:
                columns[name].append(getattr(row, name))
            positions.append(i)
            keys.append("" if row.contract_id else fold(row.objet)[:200])
            if len(positions) >= BATCH_ROWS:
                flush()
        flush()

    # -- buyers --------------------------------------------------------------------------
    def _map_new_buyers(self) -> None:
        """Give every buyer not yet in ``buyers`` its default ministry (the rules'); staff entries are kept."""
        new = self.con.execute(
            "SELECT buyer_id, any_value(buyer_name) FROM awards WHERE buyer_id <> '' AND buyer_id NOT IN (SELECT buyer_id FROM buyers) "
            "GROUP BY buyer_id"
        ).fetchall()
        if new:
            self._insert(
                "INSERT INTO buyers SELECT buyer_id, name, ministry, NULL, 'règles' FROM batch",
                {
                    "buyer_id": [b for b, _ in new],
                    "name": [n or "" for _, n in new],
                    "ministry": [default_ministry(n or "", b) for b, n in new],
                },
            )

    def _insert(self, sql: str, columns: dict[str, list[Any]]) -> None:
        """Run ``sql`` over ``columns`` registered as the table ``batch`` (Arrow: DuckDB's ``executemany``
        takes seconds for ten thousand rows)."""
        import pyarrow as pa

        self.con.register("batch", pa.table(columns))
        try:
            self.con.execute(sql).fetchall()  # DuckDB wants every result consumed before the next call
        finally:
            self.con.unregister("batch")

    def set_buyer(self, buyer_id: str, ministry: str | None, region: str | None = None, name: str | None = None) -> None:
        """Staff's mapping of a buyer (never overwritten by the rules)."""
        self.run(
            "INSERT INTO buyers VALUES (?, ?, ?, ?, 'équipe') ON CONFLICT (buyer_id) DO UPDATE SET "
            "ministry = excluded.ministry, region = excluded.region, origin = 'équipe', name = coalesce(excluded.name, buyers.name)",
            [buyer_id, name, ministry or None, region or None],
        )

    def remap_by_rules(self) -> int:
        """Apply the rules again to the buyers they mapped (after the rules changed); staff entries are kept."""
        rows = self.con.execute("SELECT buyer_id, name FROM buyers WHERE origin = 'règles'").fetchall()
        self._insert(
            "UPDATE buyers SET ministry = batch.ministry FROM batch WHERE buyers.buyer_id = batch.buyer_id",
            {"buyer_id": [b for b, _ in rows], "ministry": [default_ministry(n or "", b) for b, n in rows]},
        )
        return len(rows)

    # -- labels --------------------------------------------------------------------------
    def add_labels(self, rows: Iterable[tuple[str, str, str, int | None]]) -> int:
        """Add (or update the year of) labelled companies: ``(siren, label, source, year)``; how many were given."""
        batch = list(dict(((s, lab, src), y) for s, lab, src, y in rows).items())  # one row per key: the last year given
        if batch:
            self._insert(
                "INSERT INTO labels SELECT siren, label, source, year FROM batch ON CONFLICT (siren, label, source) DO UPDATE SET year = excluded.year",
                {
                    "siren": [k[0] for k, _ in batch],
                    "label": [k[1] for k, _ in batch],
                    "source": [k[2] for k, _ in batch],
                    "year": [y for _, y in batch],
                },
            )
        return len(batch)

    def remove_labels(self, source: str) -> int:
        """Remove every label of one source (before loading it again)."""
        count = int(self.scalar("SELECT count(*) FROM labels WHERE source = ?", [source]))
        self.run("DELETE FROM labels WHERE source = ?", [source])
        return count

    def set_sme(self, rows: Iterable[tuple[str, bool, str]]) -> int:
        """Record the SME status of companies where a source says it: ``(siren, sme, source)``."""
        batch = list({siren: (sme, source) for siren, sme, source in rows}.items())
        if batch:
            self._insert(
                "INSERT OR REPLACE INTO companies SELECT siren, sme, source FROM batch",
                {"siren": [s for s, _ in batch], "sme": [v[0] for _, v in batch], "source": [v[1] for _, v in batch]},
            )
        return len(batch)
