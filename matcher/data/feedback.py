"""Buyers' and staff's verdicts on ranked start-ups, and their export as graded qrels.

Each verdict is stored with who gave it, when, and the encoder / index / reranker versions
that produced the ranking. The learning loop retrains from them: ``qrels_rows`` turns the
latest verdict on each (recorded need, start-up) pair into a ``qrels.tsv`` grade of
``../shared/FORMATS.md`` (0 not relevant, 1 relevant, 2 shortlisted or pitched, 3 contracted).
An award detected for a listed start-up (``matcher.data.lists``, an *outcome*) is the highest
grade, 3, for each need it was listed for, whatever verdict was recorded; the feedback benchmark
names those needs in its ``awarded`` slice, so that ``matcher evaluate`` reports the rank of the
start-ups that later won.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from matcher.data.catalogue import Catalogue
from matcher.data.tables import feedback_table, list_entries_table, now, outcomes_table

#: verdict → qrels grade
VERDICTS: dict[str, int] = {"not_relevant": 0, "relevant": 1, "shortlisted": 2, "pitched": 2, "contracted": 3}
#: how the page names them
VERDICT_LABELS = {
    "not_relevant": "Non pertinent",
    "relevant": "Pertinent",
    "shortlisted": "Présélectionné",
    "pitched": "Rencontré (pitch)",
    "contracted": "Contractualisé",
}


@dataclass
class Feedback:
    supplier_id: str
    verdict: str
    actor: str
    versions: dict[str, str]
    need_id: str | None = None
    query_text: str = ""
    buyer_id: str | None = None
    rank: int | None = None


def record_feedback(catalogue: Catalogue, fb: Feedback) -> int:
    """Store a verdict and its audit entry (one transaction); returns its id. ``ValueError`` names the bad field."""
    if fb.verdict not in VERDICTS:
        raise ValueError(f"verdict : « {fb.verdict} » n'est pas l'un des avis permis : {', '.join(VERDICTS)}")
    if not fb.need_id and not fb.query_text.strip():
        raise ValueError("need_id : donnez le besoin enregistré, ou query_text pour une recherche en texte libre")
    with catalogue.transaction() as tx:
        result = tx.conn.execute(
            feedback_table.insert().values(
                need_id=fb.need_id or None,
                query_text=fb.query_text,
                supplier_id=fb.supplier_id,
                verdict=fb.verdict,
                grade=VERDICTS[fb.verdict],
                rank=fb.rank,
                buyer_id=fb.buyer_id or None,
                actor=fb.actor,
                encoder=fb.versions.get("encoder", ""),
                index_version=fb.versions.get("index", ""),
                reranker=fb.versions.get("reranker", ""),
                at=now(),
            )
        )
        tx.audit(fb.actor, "feedback.create", f"{fb.need_id or 'recherche'}→{fb.supplier_id}", {"verdict": fb.verdict})
        return int(result.inserted_primary_key[0])  # type: ignore[index]  # an INSERT always has one


def list_feedback(catalogue: Catalogue, buyer_id: str | None = None, limit: int = 500) -> list[dict]:
    """Stored verdicts, newest first; only one organisation's when ``buyer_id`` is given."""
    query = sa.select(feedback_table).order_by(feedback_table.c.id.desc()).limit(limit)
    if buyer_id is not None:
        query = query.where(feedback_table.c.buyer_id == buyer_id)
    with catalogue.engine.connect() as conn:
        return [{**r._asdict(), "at": r.at.isoformat(timespec="seconds")} for r in conn.execute(query)]


def verdict_counts(catalogue: Catalogue) -> dict[str, int]:
    """How many verdicts of each kind are stored."""
    query = sa.select(feedback_table.c.verdict, sa.func.count()).group_by(feedback_table.c.verdict)
    with catalogue.engine.connect() as conn:
        return {verdict: int(n) for verdict, n in conn.execute(query)}


def qrels_rows(catalogue: Catalogue) -> list[tuple[str, str, int]]:
    """``(need_id, supplier_id, grade)`` from the latest verdict on each pair of a recorded need.

    Verdicts on free-text searches have no need id and are left out (they are kept in the
    feedback table with their text).
    """
    latest: dict[tuple[str, str], int] = {}
    query = (
        sa.select(feedback_table.c.need_id, feedback_table.c.supplier_id, feedback_table.c.grade)
        .where(feedback_table.c.need_id.is_not(None))
        .order_by(feedback_table.c.id)
    )
    with catalogue.engine.connect() as conn:
        for need_id, supplier_id, grade in conn.execute(query):
            latest[(need_id, supplier_id)] = int(grade)
    for need_id, supplier_id in outcome_pairs(catalogue):
        latest[(need_id, supplier_id)] = OUTCOME_GRADE
    return [(n, s, g) for (n, s), g in sorted(latest.items())]


#: the grade of an award detected for a listed start-up: contracted, the highest
OUTCOME_GRADE = 3


def outcome_pairs(catalogue: Catalogue) -> set[tuple[str, str]]:
    """``(need_id, supplier_id)`` of every need a start-up was listed for before an award detected for it."""
    query = sa.select(list_entries_table.c.needs, outcomes_table.c.supplier_id).join(
        list_entries_table,
        (list_entries_table.c.snapshot_id == outcomes_table.c.snapshot_id)
        & (list_entries_table.c.supplier_id == outcomes_table.c.supplier_id),
    )
    with catalogue.engine.connect() as conn:
        return {(str(need_id), supplier_id) for needs, supplier_id in conn.execute(query) for need_id, _ in needs}


def write_feedback_benchmark(catalogue: Catalogue, folder: str | Path) -> tuple[int, int]:
    """A benchmark folder from the feedback: the catalogue's suppliers, the needs with verdicts, their qrels.

    The folder is what ``matcher train-reranker`` and ``matcher evaluate`` read, so that the
    learning loop retrains from real decisions. Returns ``(needs, judgements)``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = qrels_rows(catalogue)
    judged = {n for n, _, _ in rows}
    needs = [n for n in catalogue.needs() if n.need_id in judged]
    with (folder / "suppliers.jsonl").open("w", encoding="utf-8") as handle:
        for supplier in catalogue.suppliers():
            handle.write(json.dumps(supplier.to_dict(), ensure_ascii=False) + "\n")
    with (folder / "needs.jsonl").open("w", encoding="utf-8") as handle:
        for need in needs:
            handle.write(json.dumps(need.to_dict(), ensure_ascii=False) + "\n")
    kept = {n.need_id for n in needs}
    lines = [(n, s, g) for n, s, g in rows if n in kept]
    (folder / "qrels.tsv").write_text(
        "need_id\tsupplier_id\trelevance\n" + "".join(f"{n}\t{s}\t{g}\n" for n, s, g in lines), encoding="utf-8"
    )
    awarded = sorted({n for n, _ in outcome_pairs(catalogue)} & kept)
    slices = folder / "slices.tsv"
    if awarded:  # the needs whose listed start-up later won an award: « rank of the start-up that later won »
        slices.write_text("need_id\tslice\n" + "".join(f"{n}\tawarded\n" for n in awarded), encoding="utf-8")
    else:
        slices.unlink(missing_ok=True)
    return len(needs), len(lines)


def qrels_tsv(catalogue: Catalogue) -> str:
    """The feedback as ``qrels.tsv`` text (header ``need_id supplier_id relevance``)."""
    lines = ["need_id\tsupplier_id\trelevance"] + [f"{n}\t{s}\t{g}" for n, s, g in qrels_rows(catalogue)]
    return "\n".join(lines) + "\n"
