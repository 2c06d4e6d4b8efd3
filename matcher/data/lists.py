"""Lists sent to ministries, kept as dated snapshots, and the outcomes later awards show for them.

A snapshot is written each time a ministry's shortlist leaves the service (an export, the
command line): which start-ups, in which order, for which needs, when, by whom, with the model
versions. ``record_outcomes`` stores the awards found for them (``matcher.app.outcomes`` finds
them in the barometer's DECP awards); re-detection is idempotent (one row per snapshot,
start-up and award).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from matcher.data.catalogue import Catalogue
from matcher.data.tables import list_entries_table, list_snapshots_table, now, outcomes_table


@dataclass
class ListedEntry:
    """One start-up of a snapshot."""

    rank: int
    supplier_id: str
    siren: str | None
    name: str
    score: float
    needs: list[tuple[str, int]] = field(default_factory=list)  # (need_id, its rank in that need's ranking)


@dataclass
class Snapshot:
    """A list as it was sent."""

    snapshot_id: int
    buyer_id: str
    kind: str
    at: dt.datetime
    actor: str
    versions: dict[str, str]
    entries: list[ListedEntry]


@dataclass
class Outcome:
    """An award to a listed start-up by the list's organisation, after the list's date."""

    snapshot_id: int
    supplier_id: str
    award_key: str
    buyer_siret: str
    objet: str
    amount: float | None
    notified: dt.date
    delay_days: int


def siren_of(supplier_id: str, siren: str) -> str | None:
    """The SIREN by which a supplier appears in award data: its recorded SIREN, else an id of 9 digits."""
    for value in (siren, supplier_id):
        digits = re.sub(r"\s", "", value or "")
        if re.fullmatch(r"\d{9}", digits):
            return digits
    return None


def record_snapshot(
    catalogue: Catalogue, buyer_id: str, kind: str, actor: str, versions: dict[str, str], entries: Iterable[ListedEntry]
) -> int:
    """Store one list as sent, and its audit entry (one transaction); returns the snapshot's id."""
    rows = list(entries)
    with catalogue.transaction() as tx:
        inserted = tx.conn.execute(
            sa.insert(list_snapshots_table).values(buyer_id=buyer_id, kind=kind, at=now(), actor=actor, versions=versions)
        ).inserted_primary_key
        assert inserted is not None  # an autoincrement key was given
        snapshot_id = inserted[0]
        if rows:
            tx.conn.execute(
                sa.insert(list_entries_table),
                [
                    {
                        "snapshot_id": snapshot_id,
                        "rank": e.rank,
                        "supplier_id": e.supplier_id,
                        "siren": e.siren,
                        "name": e.name,
                        "score": e.score,
                        "needs": [list(n) for n in e.needs],
                    }
                    for e in rows
                ],
            )
        tx.audit(actor, "list.snapshot", buyer_id, {"snapshot": snapshot_id, "kind": kind, "entries": len(rows)})
    return int(snapshot_id)


def snapshots(catalogue: Catalogue, buyer_id: str | None = None) -> list[Snapshot]:
    """The snapshots (one organisation's when ``buyer_id`` is given), oldest first, with their entries."""
    query = sa.select(list_snapshots_table).order_by(list_snapshots_table.c.id)
    if buyer_id is not None:
        query = query.where(list_snapshots_table.c.buyer_id == buyer_id)
    with catalogue.engine.connect() as conn:
        heads = list(conn.execute(query).mappings())
        ids = [h["id"] for h in heads]
        entries: dict[int, list[ListedEntry]] = {i: [] for i in ids}
        if ids:
            for row in conn.execute(
                sa.select(list_entries_table).where(list_entries_table.c.snapshot_id.in_(ids)).order_by(list_entries_table.c.rank)
            ).mappings():
                entries[row["snapshot_id"]].append(
                    ListedEntry(
                        row["rank"], row["supplier_id"], row["siren"], row["name"], row["score"], [(n, int(r)) for n, r in row["needs"]]
                    )
                )
    return [Snapshot(h["id"], h["buyer_id"], h["kind"], h["at"], h["actor"], h["versions"], entries[h["id"]]) for h in heads]


def record_outcomes(catalogue: Catalogue, outcomes: Iterable[Outcome]) -> int:
    """Store the outcomes not stored yet; returns how many were new."""
    found = list(outcomes)
    if not found:
        return 0
    with catalogue.transaction() as tx:
        known = {
            (r.snapshot_id, r.supplier_id, r.award_key)
            for r in tx.conn.execute(sa.select(outcomes_table.c.snapshot_id, outcomes_table.c.supplier_id, outcomes_table.c.award_key))
        }
        new = [o for o in found if (o.snapshot_id, o.supplier_id, o.award_key) not in known]
        if new:
            stamp = now()
            tx.conn.execute(sa.insert(outcomes_table), [{**vars(o), "detected_at": stamp} for o in new])
    return len(new)


def stored_outcomes(catalogue: Catalogue, buyer_id: str | None = None) -> list[Outcome]:
    """The outcomes stored (of one organisation's lists when ``buyer_id`` is given), earliest award first."""
    query = sa.select(outcomes_table).order_by(outcomes_table.c.notified, outcomes_table.c.snapshot_id)
    if buyer_id is not None:
        query = query.join(list_snapshots_table, list_snapshots_table.c.id == outcomes_table.c.snapshot_id).where(
            list_snapshots_table.c.buyer_id == buyer_id
        )
    with catalogue.engine.connect() as conn:
        return [
            Outcome(
                r["snapshot_id"],
                r["supplier_id"],
                r["award_key"],
                r["buyer_siret"],
                r["objet"],
                r["amount"],
                r["notified"],
                r["delay_days"],
            )
            for r in conn.execute(query).mappings()
        ]
