"""Outcomes: what the lists sent to ministries led to, measured from the awards imported later.

Every export of a ministry's shortlist is kept as a dated snapshot (``snapshot_shortlist``).
``detect_outcomes`` then looks, in the barometer's deduplicated DECP awards, for the awards by
the list's organisation to a listed start-up notified after the list's date, and stores each as an
outcome with its delay in days and its amount. An organisation's buyers are the establishments of
its SIRET table (the agents' sign-in table: ``matcher agents set``) and its own id when that is a
SIRET or SIREN; they match an award's buyer by SIREN (the establishments of one body share it).

``funnel`` counts, per organisation, the start-ups listed → judged pertinent → contacted
(« présélectionné ») → pitched (« rencontré ») → contracted (the verdicts recorded) → awarded (the
outcomes detected).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from matcher.app.engine import Engine
from matcher.barometer.store import BarometerStore
from matcher.data.catalogue import Catalogue
from matcher.data.lists import ListedEntry, Outcome, record_outcomes, record_snapshot, siren_of, snapshots, stored_outcomes
from matcher.data.tables import agent_organisations_table, feedback_table
from matcher.ranking.shortlist import ShortlistEntry
from matcher.settings import Settings

#: the funnel's stages, in order, with the verdicts that reach each (a later verdict passes the earlier stages)
STAGES = ("listed", "pertinent", "contacted", "pitched", "contracted", "awarded")
_VERDICT_STAGE = {"relevant": 1, "shortlisted": 2, "pitched": 3, "contracted": 4}


def snapshot_shortlist(engine: Engine, buyer_id: str, entries: list[ShortlistEntry], kind: str, actor: str) -> int:
    """Keep a ministry's shortlist as it leaves the service (an export): returns the snapshot's id."""
    listed = []
    for e in entries:
        supplier = engine.corpus.suppliers[e.supplier]
        listed.append(
            ListedEntry(
                e.rank,
                supplier.supplier_id,
                siren_of(supplier.supplier_id, supplier.siren),
                supplier.name,
                float(e.score),
                [(n, r) for n, _, r in e.needs],
            )
        )
    return record_snapshot(engine.catalogue, buyer_id, kind, actor, engine.versions(), listed)


def organisation_sirens(catalogue: Catalogue) -> dict[str, set[str]]:
    """Each organisation's buyer SIRENs: its establishments in the SIRET table, and its own id when it is one."""
    out: dict[str, set[str]] = {}
    with catalogue.engine.connect() as conn:
        for siret, buyer_id in conn.execute(sa.select(agent_organisations_table.c.siret, agent_organisations_table.c.buyer_id)):
            if buyer_id:
                out.setdefault(buyer_id, set()).add(siret[:9])
    for buyer_id, _, _ in catalogue.buyers():
        digits = re.sub(r"\s", "", buyer_id)
        if re.fullmatch(r"\d{9}|\d{14}", digits):
            out.setdefault(buyer_id, set()).add(digits[:9])
    return out


@dataclass
class Detection:
    """What a detection found: snapshots looked at, outcomes found and new."""

    snapshots: int
    found: int
    new: int


def detect_outcomes(settings: Settings, catalogue: Catalogue) -> Detection:
    """Link the barometer's awards to the lists sent before them (idempotent): awards by the list's
    organisation to a listed start-up, notified after the list's date."""
    lists = snapshots(catalogue)
    sirens = organisation_sirens(catalogue)
    if not lists or not settings.barometer_path.is_file():
        return Detection(len(lists), 0, 0)
    store = BarometerStore(settings.barometer_path, read_only=True)
    found: list[Outcome] = []
    try:
        for snap in lists:
            buyers = sorted(sirens.get(snap.buyer_id, set()))
            listed = {e.siren: e.supplier_id for e in snap.entries if e.siren}
            if not buyers or not listed:
                continue
            rows = store.query(
                "SELECT contract_key, buyer_id, holder_id, objet, amount / holders AS amount, date FROM awards "
                "WHERE kind = 'marché' AND date > ? AND substr(buyer_id, 1, 9) IN (SELECT unnest(?)) AND holder_id IN (SELECT unnest(?)) "
                "ORDER BY date, contract_key",
                [snap.at.date(), buyers, sorted(listed)],
            )
            for r in rows:
                found.append(
                    Outcome(
                        snap.snapshot_id,
                        listed[r["holder_id"]],
                        r["contract_key"],
                        r["buyer_id"],
                        r["objet"] or "",
                        r["amount"],
                        r["date"],
                        (r["date"] - snap.at.date()).days,
                    )
                )
    finally:
        store.close()
    return Detection(len(lists), len(found), record_outcomes(catalogue, found))


def outcome_rows(catalogue: Catalogue, buyer_id: str | None = None) -> list[dict[str, Any]]:
    """The awards detected for listed start-ups (one organisation's when ``buyer_id`` is given), earliest first."""
    owners = {s.snapshot_id: (s.buyer_id, s.at) for s in snapshots(catalogue, buyer_id)}
    names = {s.supplier_id: s.name for s in catalogue.suppliers()}
    return [
        {
            "buyer_id": owners[o.snapshot_id][0],
            "snapshot_id": o.snapshot_id,
            "listed_at": owners[o.snapshot_id][1].isoformat(timespec="seconds"),
            "supplier_id": o.supplier_id,
            "name": names.get(o.supplier_id, ""),
            "buyer_siret": o.buyer_siret,
            "objet": o.objet,
            "amount": o.amount,
            "notified": o.notified.isoformat(),
            "delay_days": o.delay_days,
        }
        for o in stored_outcomes(catalogue, buyer_id)
        if o.snapshot_id in owners
    ]


def funnel(catalogue: Catalogue, buyer_id: str | None = None) -> list[dict[str, Any]]:
    """Per organisation (one when ``buyer_id`` is given): how many listed start-ups reached each stage."""
    lists = snapshots(catalogue, buyer_id)
    listed: dict[str, set[str]] = {}
    first_listed: dict[tuple[str, str], dt.datetime] = {}
    for snap in lists:
        for e in snap.entries:
            listed.setdefault(snap.buyer_id, set()).add(e.supplier_id)
            first_listed.setdefault((snap.buyer_id, e.supplier_id), snap.at)
    stage: dict[tuple[str, str], int] = {key: 0 for key in first_listed}
    query = sa.select(feedback_table.c.buyer_id, feedback_table.c.supplier_id, feedback_table.c.verdict)
    if buyer_id is not None:
        query = query.where(feedback_table.c.buyer_id == buyer_id)
    with catalogue.engine.connect() as conn:
        for b, s, verdict in conn.execute(query):
            key = (b, s)
            if key in stage and verdict in _VERDICT_STAGE:
                stage[key] = max(stage[key], _VERDICT_STAGE[verdict])
    for outcome in stored_outcomes(catalogue, buyer_id):
        owner = next(s.buyer_id for s in lists if s.snapshot_id == outcome.snapshot_id)
        stage[(owner, outcome.supplier_id)] = len(STAGES) - 1
    out = []
    for org in sorted(listed):
        reached = [stage[(org, s)] for s in listed[org]]
        row: dict[str, Any] = {"buyer_id": org, "lists": sum(1 for s in lists if s.buyer_id == org)}
        row.update({name: sum(1 for r in reached if r >= i) for i, name in enumerate(STAGES)})
        out.append(row)
    return out
