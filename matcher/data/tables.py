"""The catalogue's tables (SQLAlchemy Core) and its clock: what every module writing rows of them shares."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

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
#: the SIRET → (buyer organisation, role) table staff keep for the agents who sign in with ProConnect
agent_organisations_table = sa.Table(
    "agent_organisations",
    metadata,
    sa.Column("siret", sa.String(14), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("buyer_id", sa.String(200), nullable=True),
    sa.Column("label", sa.String(300), nullable=False, default=""),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
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

#: every list sent to a ministry (an export of its shortlist), kept as a dated snapshot
list_snapshots_table = sa.Table(
    "list_snapshots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("buyer_id", sa.String(200), nullable=False, index=True),
    sa.Column("kind", sa.String(40), nullable=False),  # how it left: "export-csv", "export-xlsx", "cli" …
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("versions", sa.JSON, nullable=False),
)
#: the start-ups of a snapshot, in their order, with the needs each covered
list_entries_table = sa.Table(
    "list_entries",
    metadata,
    sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("list_snapshots.id"), primary_key=True),
    sa.Column("rank", sa.Integer, primary_key=True),
    sa.Column("supplier_id", sa.String(200), nullable=False, index=True),
    sa.Column("siren", sa.String(9), nullable=True, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("needs", sa.JSON, nullable=False),  # [[need_id, rank in that need's ranking], …]
)
#: awards by a listed organisation's buyers to a listed start-up, notified after the list's date
outcomes_table = sa.Table(
    "outcomes",
    metadata,
    sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("list_snapshots.id"), primary_key=True),
    sa.Column("supplier_id", sa.String(200), primary_key=True),
    sa.Column("award_key", sa.String(400), primary_key=True),  # the barometer's contract key
    sa.Column("buyer_siret", sa.String(30), nullable=False),
    sa.Column("objet", sa.Text, nullable=False),
    sa.Column("amount", sa.Float, nullable=True),
    sa.Column("notified", sa.Date, nullable=False),
    sa.Column("delay_days", sa.Integer, nullable=False),
    sa.Column("detected_at", sa.DateTime, nullable=False),
)


def now() -> dt.datetime:
    """Now, in naive UTC (how the tables store times): the catalogue's clock."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
