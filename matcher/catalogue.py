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
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa

from .schema import Label, Need, Supplier, canonical_references, merge_suppliers

metadata = sa.MetaData()

suppliers_table = sa.Table(
    "suppliers",
    metadata,
    sa.Column("supplier_id", sa.String(200), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("record", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
needs_table = sa.Table(
    "needs",
    metadata,
    sa.Column("need_id", sa.String(200), primary_key=True),
    sa.Column("buyer_id", sa.String(200), nullable=False, index=True),
    sa.Column("record", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
labels_table = sa.Table(
    "labels",
    metadata,
    sa.Column("need_id", sa.String(200), primary_key=True),
    sa.Column("supplier_id", sa.String(200), primary_key=True),
    sa.Column("relevance", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
buyers_table = sa.Table(
    "buyers",
    metadata,
    sa.Column("buyer_id", sa.String(200), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
api_keys_table = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("buyer_id", sa.String(200), nullable=True),
    sa.Column("key_hash", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
)
feedback_table = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("need_id", sa.String(200), nullable=True, index=True),
    sa.Column("query_text", sa.Text, nullable=False),
    sa.Column("supplier_id", sa.String(200), nullable=False),
    sa.Column("verdict", sa.String(20), nullable=False),
    sa.Column("grade", sa.Integer, nullable=False),
    sa.Column("rank", sa.Integer, nullable=True),
    sa.Column("buyer_id", sa.String(200), nullable=True, index=True),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("encoder", sa.String(200), nullable=False),
    sa.Column("index_version", sa.String(200), nullable=False),
    sa.Column("reranker", sa.String(300), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
)
audit_table = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("target", sa.String(300), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)
imports_table = sa.Table(
    "imports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("read", sa.Integer, nullable=False),
    sa.Column("accepted", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Catalogue:
    """Suppliers, needs and labels stored in a relational database."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(url, future=True)
        metadata.create_all(self.engine)

    # -- writes ---------------------------------------------------------------------------
    def upsert_suppliers(self, suppliers: Iterable[Supplier]) -> tuple[int, int]:
        """Insert new suppliers, merge known ones; returns ``(inserted, updated)``."""
        incoming: dict[str, Supplier] = {}
        for s in suppliers:
            incoming[s.supplier_id] = merge_suppliers(incoming[s.supplier_id], s) if s.supplier_id in incoming else s
        inserted = updated = 0
        with self.engine.begin() as conn:
            existing = self._load_suppliers(conn, list(incoming))
            now = _now()
            for sid, supplier in incoming.items():
                if sid in existing:
                    merged = merge_suppliers(existing[sid], supplier)
                    conn.execute(
                        suppliers_table.update()
                        .where(suppliers_table.c.supplier_id == sid)
                        .values(name=merged.name, record=merged.to_dict(), updated_at=now)
                    )
                    updated += 1
                else:
                    supplier.references = canonical_references(supplier.references)
                    conn.execute(
                        suppliers_table.insert().values(supplier_id=sid, name=supplier.name, record=supplier.to_dict(), updated_at=now)
                    )
                    inserted += 1
        return inserted, updated

    def upsert_buyers(self, buyers: dict[str, str]) -> tuple[int, int]:
        """Record buyers ``{buyer_id: name}``; a known buyer keeps its name unless a new one is given."""
        inserted = updated = 0
        with self.engine.begin() as conn:
            self._upsert_buyers(conn, buyers)
            known = set(conn.execute(sa.select(buyers_table.c.buyer_id)).scalars())
        for buyer_id in buyers:
            inserted += buyer_id not in known
        updated = len(buyers) - inserted
        return inserted, updated

    @staticmethod
    def _upsert_buyers(conn: sa.Connection, buyers: dict[str, str]) -> None:
        now = _now()
        for buyer_id, name in buyers.items():
            if not buyer_id:
                continue
            values = {"updated_at": now, **({"name": name} if name else {})}
            result = conn.execute(buyers_table.update().where(buyers_table.c.buyer_id == buyer_id).values(**values))
            if not result.rowcount:
                conn.execute(buyers_table.insert().values(buyer_id=buyer_id, name=name or "", updated_at=now))

    def upsert_needs(self, needs: Iterable[Need]) -> tuple[int, int]:
        """Insert new needs, replace known ones (their buyers are recorded); returns ``(inserted, updated)``."""
        inserted = updated = 0
        needs = list(needs)
        with self.engine.begin() as conn:
            self._upsert_buyers(conn, {n.buyer_id: n.buyer_name for n in needs})
            now = _now()
            for need in needs:
                values = dict(buyer_id=need.buyer_id, record=need.to_dict(), updated_at=now)
                result = conn.execute(needs_table.update().where(needs_table.c.need_id == need.need_id).values(**values))
                if result.rowcount:
                    updated += 1
                else:
                    conn.execute(needs_table.insert().values(need_id=need.need_id, **values))
                    inserted += 1
        return inserted, updated

    def upsert_labels(self, labels: Iterable[Label]) -> int:
        count = 0
        with self.engine.begin() as conn:
            now = _now()
            for label in labels:
                key = (labels_table.c.need_id == label.need_id) & (labels_table.c.supplier_id == label.supplier_id)
                result = conn.execute(labels_table.update().where(key).values(relevance=label.relevance, updated_at=now))
                if not result.rowcount:
                    conn.execute(
                        labels_table.insert().values(
                            need_id=label.need_id, supplier_id=label.supplier_id, relevance=label.relevance, updated_at=now
                        )
                    )
                count += 1
        return count

    def delete_supplier(self, supplier_id: str) -> bool:
        """Delete a supplier from the catalogue (re-index to stop serving it); ``False`` if unknown."""
        with self.engine.begin() as conn:
            return bool(conn.execute(suppliers_table.delete().where(suppliers_table.c.supplier_id == supplier_id)).rowcount)

    def delete_need(self, need_id: str) -> bool:
        """Delete a need (its labels stay, keyed by id); ``False`` if it did not exist."""
        with self.engine.begin() as conn:
            return bool(conn.execute(needs_table.delete().where(needs_table.c.need_id == need_id)).rowcount)

    def audit(self, actor: str, action: str, target: str, detail: dict | None = None) -> None:
        """Record who wrote what (every write through the service is attributable)."""
        with self.engine.begin() as conn:
            conn.execute(audit_table.insert().values(at=_now(), actor=actor, action=action, target=target[:300], detail=detail or {}))

    def audit_log(self, limit: int = 100) -> list[dict]:
        """The latest writes, newest first."""
        query = sa.select(audit_table).order_by(audit_table.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [{**row._asdict(), "at": row.at.isoformat(timespec="seconds")} for row in conn.execute(query)]

    def log_import(self, kind: str, source: str, read: int, accepted: int, rejected: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(imports_table.insert().values(kind=kind, source=source, at=_now(), read=read, accepted=accepted, rejected=rejected))

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
            out[sid] = Supplier.from_dict(record)
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
        with self.engine.connect() as conn:
            return [Need.from_dict(r) for (r,) in conn.execute(query)]

    def need(self, need_id: str) -> Need | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(needs_table.c.record).where(needs_table.c.need_id == need_id)).first()
        return Need.from_dict(row[0]) if row else None

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
                for name, table in (("suppliers", suppliers_table), ("needs", needs_table), ("labels", labels_table), ("buyers", buyers_table))
            }

    def fingerprint(self) -> str:
        """Hash of the stored suppliers (changes whenever one is added or updated)."""
        h = hashlib.sha256()
        for s in self.suppliers():
            h.update(json.dumps(s.to_dict(), sort_keys=True, ensure_ascii=False).encode())
        return h.hexdigest()[:16]
