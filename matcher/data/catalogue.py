"""The catalogue database: suppliers, needs, relevance labels and the import log.

SQLite by default, any SQLAlchemy URL otherwise. Re-importing a supplier merges it with
the stored record (``merge_suppliers``) instead of duplicating it; a re-imported need
replaces the stored one. Each import is one transaction: a failure leaves what was
stored before untouched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from matcher.data.fields import RecordError
from matcher.data.schema import Label, Need, Supplier, canonical_references, merge_suppliers
from matcher.data.tables import audit_table, buyers_table, imports_table, labels_table, metadata, needs_table, now, suppliers_table

log = logging.getLogger(__name__)


class NeedExists(LookupError):
    """A need of this id is already stored; ``owner`` is its buyer organisation."""

    def __init__(self, need_id: str, owner: str | None) -> None:
        super().__init__(f"need {need_id!r} already exists")
        self.need_id = need_id
        self.owner = owner


class Writes:
    """The writes of one transaction (``Catalogue.transaction()``): all of them land, or none."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def upsert_suppliers(self, suppliers: Iterable[Supplier]) -> tuple[int, int]:
        """Insert new suppliers, merge known ones; returns ``(inserted, updated)``."""
        incoming: dict[str, Supplier] = {}
        for s in suppliers:
            incoming[s.supplier_id] = merge_suppliers(incoming[s.supplier_id], s) if s.supplier_id in incoming else s
        inserted = updated = 0
        existing = Catalogue._load_suppliers(self.conn, list(incoming))
        stamp = now()
        for sid, supplier in incoming.items():
            if sid in existing:
                merged = merge_suppliers(existing[sid], supplier)
                self.conn.execute(
                    suppliers_table.update()
                    .where(suppliers_table.c.supplier_id == sid)
                    .values(name=merged.name, record=merged.to_dict(), updated_at=stamp)
                )
                updated += 1
            else:
                supplier.references = canonical_references(supplier.references)
                self.conn.execute(
                    suppliers_table.insert().values(supplier_id=sid, name=supplier.name, record=supplier.to_dict(), updated_at=stamp)
                )
                inserted += 1
        return inserted, updated

    def replace_supplier(self, supplier: Supplier) -> bool:
        """Store ``supplier`` in place of the stored record of its id (no merge); ``True`` if one existed."""
        supplier.references = canonical_references(supplier.references)
        values = dict(name=supplier.name, record=supplier.to_dict(), updated_at=now())
        result = self.conn.execute(suppliers_table.update().where(suppliers_table.c.supplier_id == supplier.supplier_id).values(**values))
        if result.rowcount:
            return True
        self.conn.execute(suppliers_table.insert().values(supplier_id=supplier.supplier_id, **values))
        return False

    def delete_supplier(self, supplier_id: str) -> bool:
        """Delete a supplier from the catalogue (re-index to stop serving it); ``False`` if unknown."""
        return bool(self.conn.execute(suppliers_table.delete().where(suppliers_table.c.supplier_id == supplier_id)).rowcount)

    def upsert_buyers(self, buyers: dict[str, str]) -> None:
        """Record buyers ``{buyer_id: name}``; a known buyer keeps its name unless a new one is given."""
        stamp = now()
        for buyer_id, name in buyers.items():
            if not buyer_id:
                continue
            values = {"updated_at": stamp, **({"name": name} if name else {})}
            result = self.conn.execute(buyers_table.update().where(buyers_table.c.buyer_id == buyer_id).values(**values))
            if not result.rowcount:
                self.conn.execute(buyers_table.insert().values(buyer_id=buyer_id, name=name or "", updated_at=stamp))

    def upsert_needs(self, needs: Iterable[Need]) -> tuple[int, int]:
        """Insert new needs, replace known ones (their buyers are recorded); returns ``(inserted, updated)``."""
        inserted = updated = 0
        needs = list(needs)
        self.upsert_buyers({n.buyer_id: n.buyer_name for n in needs})
        stamp = now()
        for need in needs:
            values = dict(buyer_id=need.buyer_id, record=need.to_dict(), updated_at=stamp)
            result = self.conn.execute(needs_table.update().where(needs_table.c.need_id == need.need_id).values(**values))
            if result.rowcount:
                updated += 1
            else:
                self.conn.execute(needs_table.insert().values(need_id=need.need_id, **values))
                inserted += 1
        return inserted, updated

    def insert_need(self, need: Need) -> None:
        """Store a new need; ``NeedExists`` if its id is taken. The primary key decides between
        concurrent creates of one id: the loser's ``INSERT`` fails (see ``Catalogue.create_need``)."""
        owner = self.conn.execute(sa.select(needs_table.c.buyer_id).where(needs_table.c.need_id == need.need_id)).scalar()
        if owner is not None:
            raise NeedExists(need.need_id, owner)
        self.upsert_buyers({need.buyer_id: need.buyer_name})
        self.conn.execute(
            needs_table.insert().values(need_id=need.need_id, buyer_id=need.buyer_id, record=need.to_dict(), updated_at=now())
        )

    def update_need(self, need: Need, owner: str | None = None) -> bool:
        """Replace the stored need of ``need.need_id`` — only if it belongs to ``owner`` when given
        (the ownership is checked by the ``UPDATE`` itself); ``False`` when no such row."""
        key = needs_table.c.need_id == need.need_id
        if owner is not None:
            key &= needs_table.c.buyer_id == owner
        result = self.conn.execute(needs_table.update().where(key).values(buyer_id=need.buyer_id, record=need.to_dict(), updated_at=now()))
        if result.rowcount:
            self.upsert_buyers({need.buyer_id: need.buyer_name})
        return bool(result.rowcount)

    def delete_need(self, need_id: str, owner: str | None = None) -> bool:
        """Delete a need (its labels stay, keyed by id) — only if it belongs to ``owner`` when given; ``False`` if no such row."""
        key = needs_table.c.need_id == need_id
        if owner is not None:
            key &= needs_table.c.buyer_id == owner
        return bool(self.conn.execute(needs_table.delete().where(key)).rowcount)

    def upsert_labels(self, labels: Iterable[Label]) -> int:
        count = 0
        stamp = now()
        for label in labels:
            key = (labels_table.c.need_id == label.need_id) & (labels_table.c.supplier_id == label.supplier_id)
            result = self.conn.execute(labels_table.update().where(key).values(relevance=label.relevance, updated_at=stamp))
            if not result.rowcount:
                self.conn.execute(
                    labels_table.insert().values(
                        need_id=label.need_id, supplier_id=label.supplier_id, relevance=label.relevance, updated_at=stamp
                    )
                )
            count += 1
        return count

    def audit(self, actor: str, action: str, target: str, detail: dict | None = None) -> None:
        """Record who wrote what (every write through the service is attributable)."""
        self.conn.execute(audit_table.insert().values(at=now(), actor=actor, action=action, target=target[:300], detail=detail or {}))

    def log_import(self, kind: str, source: str, read: int, accepted: int, rejected: int) -> None:
        self.conn.execute(
            imports_table.insert().values(kind=kind, source=source, at=now(), read=read, accepted=accepted, rejected=rejected)
        )


class Catalogue:
    """Suppliers, needs and labels stored in a relational database.

    Every write is one transaction: several writes that belong together (a record and its audit
    entry, an import and its log) go through one ``transaction()``; the single-write methods below
    open their own.
    """

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(url, future=True)
        metadata.create_all(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Writes]:
        """One transaction: committed when the block ends, rolled back (nothing stored) if it raises."""
        with self.engine.begin() as conn:
            yield Writes(conn)

    # -- writes, one transaction each ------------------------------------------------------
    def upsert_suppliers(self, suppliers: Iterable[Supplier]) -> tuple[int, int]:
        """Insert new suppliers, merge known ones; returns ``(inserted, updated)``."""
        with self.transaction() as tx:
            return tx.upsert_suppliers(suppliers)

    def upsert_buyers(self, buyers: dict[str, str]) -> tuple[int, int]:
        """Record buyers ``{buyer_id: name}``; returns ``(inserted, updated)``."""
        with self.transaction() as tx:
            known = set(tx.conn.execute(sa.select(buyers_table.c.buyer_id)).scalars())
            tx.upsert_buyers(buyers)
        inserted = sum(1 for b in buyers if b and b not in known)
        return inserted, sum(1 for b in buyers if b) - inserted

    def upsert_needs(self, needs: Iterable[Need]) -> tuple[int, int]:
        """Insert new needs, replace known ones (their buyers are recorded); returns ``(inserted, updated)``."""
        with self.transaction() as tx:
            return tx.upsert_needs(needs)

    def create_need(self, need: Need, audit: tuple[str, str, str, dict] | None = None) -> None:
        """Store a new need (and its audit entry) in one transaction; ``NeedExists`` naming the stored
        owner when the id is taken, also when a concurrent create of the same id won the race."""
        try:
            with self.transaction() as tx:
                tx.insert_need(need)
                if audit is not None:
                    tx.audit(*audit)
        except sa.exc.IntegrityError:
            raise NeedExists(need.need_id, self.need_owner(need.need_id)) from None

    def upsert_labels(self, labels: Iterable[Label]) -> int:
        with self.transaction() as tx:
            return tx.upsert_labels(labels)

    def delete_supplier(self, supplier_id: str) -> bool:
        """Delete a supplier from the catalogue (re-index to stop serving it); ``False`` if unknown."""
        with self.transaction() as tx:
            return tx.delete_supplier(supplier_id)

    def delete_need(self, need_id: str) -> bool:
        """Delete a need (its labels stay, keyed by id); ``False`` if it did not exist."""
        with self.transaction() as tx:
            return tx.delete_need(need_id)

    def audit(self, actor: str, action: str, target: str, detail: dict | None = None) -> None:
        """Record who wrote what (every write through the service is attributable)."""
        with self.transaction() as tx:
            tx.audit(actor, action, target, detail)

    def audit_log(self, limit: int = 100) -> list[dict]:
        """The latest writes, newest first."""
        query = sa.select(audit_table).order_by(audit_table.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [{**row._asdict(), "at": row.at.isoformat(timespec="seconds")} for row in conn.execute(query)]

    def log_import(self, kind: str, source: str, read: int, accepted: int, rejected: int) -> None:
        with self.transaction() as tx:
            tx.log_import(kind, source, read, accepted, rejected)

    # -- reads ----------------------------------------------------------------------------
    @staticmethod
    def _load_suppliers(conn: sa.Connection, ids: list[str] | None = None) -> dict[str, Supplier]:
        out: dict[str, Supplier] = {}
        query = sa.select(suppliers_table.c.supplier_id, suppliers_table.c.record)
        if ids is None:
            rows = conn.execute(query.order_by(suppliers_table.c.supplier_id)).all()
        else:
            rows = []
            for start in range(0, len(ids), 500):
                rows += conn.execute(query.where(suppliers_table.c.supplier_id.in_(ids[start : start + 500]))).all()
        for sid, record in rows:
            try:
                out[sid] = Supplier.from_dict(record)
            except (RecordError, TypeError, ValueError) as exc:  # stored before a rule existed: skipped, never fatal
                log.error("supplier %r skipped: its stored record is invalid (%s)", sid, exc)
        return out

    def suppliers(self) -> list[Supplier]:
        with self.engine.connect() as conn:
            return list(self._load_suppliers(conn).values())

    def supplier_snapshot(self) -> tuple[list[Supplier], dict[str, dt.datetime]]:
        """Every supplier, and when each was last written (what :meth:`supplier_changes` compares with)."""
        with self.engine.connect() as conn:
            stamps = self._supplier_stamps(conn)
            suppliers = self._load_suppliers(conn)
        return list(suppliers.values()), {sid: stamps[sid] for sid in suppliers if sid in stamps}

    def supplier_changes(self, known: dict[str, dt.datetime]) -> tuple[list[Supplier], list[str], dict[str, dt.datetime]]:
        """What changed since the snapshot ``known``: ``(added or edited suppliers, removed ids, new stamps)``.

        Reads one small column for every supplier and whole records only for those written since.
        """
        with self.engine.connect() as conn:
            stamps = self._supplier_stamps(conn)
            wanted = [sid for sid, at in stamps.items() if known.get(sid) != at]
            changed = self._load_suppliers(conn, wanted) if wanted else {}
        for sid in wanted:
            if sid not in changed:  # deleted between the two reads
                stamps.pop(sid, None)
        removed = [sid for sid in known if sid not in stamps]
        return list(changed.values()), removed, stamps

    @staticmethod
    def _supplier_stamps(conn: sa.Connection) -> dict[str, dt.datetime]:
        return dict(conn.execute(sa.select(suppliers_table.c.supplier_id, suppliers_table.c.updated_at)).all())

    def supplier(self, supplier_id: str) -> Supplier | None:
        with self.engine.connect() as conn:
            return self._load_suppliers(conn, [supplier_id]).get(supplier_id)

    def needs(self, buyer_id: str | None = None) -> list[Need]:
        query = sa.select(needs_table.c.record).order_by(needs_table.c.need_id)
        if buyer_id is not None:
            query = query.where(needs_table.c.buyer_id == buyer_id)
        query = query.add_columns(needs_table.c.need_id)
        with self.engine.connect() as conn:
            return [need for record, need_id in conn.execute(query) if (need := _stored_need(need_id, record)) is not None]

    def need(self, need_id: str) -> Need | None:
        """The stored need, or ``None`` (unknown, or a stored record that is no longer valid: logged)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(needs_table.c.record).where(needs_table.c.need_id == need_id)).first()
        return _stored_need(need_id, row[0]) if row else None

    def need_owner(self, need_id: str) -> str | None:
        """The buyer organisation a stored need belongs to (read from its row, valid record or not)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(needs_table.c.buyer_id).where(needs_table.c.need_id == need_id)).scalar()

    def buyers(self) -> list[tuple[str, str, int]]:
        """``(buyer_id, buyer_name, number of needs)`` for every buyer with a recorded need."""
        query = (
            sa.select(needs_table.c.buyer_id, sa.func.coalesce(buyers_table.c.name, ""), sa.func.count())
            .select_from(needs_table.outerjoin(buyers_table, needs_table.c.buyer_id == buyers_table.c.buyer_id))
            .group_by(needs_table.c.buyer_id, buyers_table.c.name)
            .order_by(needs_table.c.buyer_id)
        )
        with self.engine.connect() as conn:
            return [(b, n, int(c)) for b, n, c in conn.execute(query)]

    def labels(self) -> list[Label]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(labels_table.c.need_id, labels_table.c.supplier_id, labels_table.c.relevance))
            return [Label(*r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
                for name, table in (
                    ("suppliers", suppliers_table),
                    ("needs", needs_table),
                    ("labels", labels_table),
                    ("buyers", buyers_table),
                )
            }

    def fingerprint(self) -> str:
        """Hash of the stored suppliers (changes whenever one is added or updated)."""
        h = hashlib.sha256()
        for s in self.suppliers():
            h.update(json.dumps(s.to_dict(), sort_keys=True, ensure_ascii=False).encode())
        return h.hexdigest()[:16]


def _stored_need(need_id: str, record: dict) -> Need | None:
    try:
        return Need.from_dict(record)
    except (RecordError, TypeError, ValueError) as exc:  # stored before a rule existed: skipped, never fatal
        log.error("need %r skipped: its stored record is invalid (%s)", need_id, exc)
        return None
