"""Shortlist use cases: a buyer's list over its recorded needs, every ministry's list balanced across
them, and what those lists contain (the mission's statistics)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from matcher.app.engine import Engine
from matcher.app.errors import NotFoundError
from matcher.data.schema import Need
from matcher.ranking.exposure import ExposureStats, balance, exposure_stats
from matcher.ranking.rank import Filters, Query
from matcher.ranking.shortlist import ShortlistEntry, aggregate


@dataclass
class CrossShortlists:
    """Every buyer's balanced shortlist, and the exposure of the lists before and after balancing."""

    lists: dict[str, tuple[list[Need], list[ShortlistEntry]]]
    before: ExposureStats  # of the unbalanced top-k lists
    after: ExposureStats


def buyer_lists(
    engine: Engine, buyer_id: str, depth: int, per_need: int, filters: Filters | None
) -> tuple[list[Need], list[ShortlistEntry]]:
    """A buyer's needs and its aggregated list ``depth`` deep (not explained); ``NotFoundError`` without needs."""
    needs = engine.catalogue.needs(buyer_id)
    if not needs:
        raise NotFoundError("buyer", buyer_id)
    queries = [Query.from_need(n) for n in needs]
    qvecs = engine.ranker.query_vectors(queries, progress=False)
    rankings = [engine.ranker.rank(q, per_need, filters, qvec=v) for q, v in zip(queries, qvecs)]
    return needs, aggregate(needs, rankings, depth)


def _explain_entries(engine: Engine, needs: list[Need], entries: list[ShortlistEntry]) -> None:
    for entry in entries:
        if entry.best is not None and entry.explanation is None:
            entry.explanation = engine.explain(Query.from_need(needs[entry.best_need]), entry.best)


def shortlist(
    engine: Engine, buyer_id: str, k: int = 10, per_need: int = 10, filters: Filters | None = None
) -> tuple[list[Need], list[ShortlistEntry]]:
    """A buyer's shortlist over all its recorded needs, each entry explained by its best need."""
    needs, entries = buyer_lists(engine, buyer_id, k, per_need, filters)
    _explain_entries(engine, needs, entries)
    return needs, entries


def all_shortlists(
    engine: Engine, k: int = 10, per_need: int = 10, filters: Filters | None = None, cap: int | None = None, trade_off: float = 0.0
) -> CrossShortlists:
    """Every buyer's shortlist, with exposure balancing across them (``cap``, ``trade_off``).

    Each buyer's list is aggregated 3×k deep so that balancing has alternatives to pick;
    the exposure of the unbalanced top-k lists is reported beside the balanced one.
    """
    per_buyer = {buyer_id: buyer_lists(engine, buyer_id, 3 * k, max(per_need, k), filters) for buyer_id, _, _ in engine.catalogue.buyers()}
    before = {b: [e.supplier for e in entries[:k]] for b, (_, entries) in per_buyer.items()}
    chosen = balance({b: [(e.supplier, e.score) for e in entries] for b, (_, entries) in per_buyer.items()}, k, cap, trade_off)
    lists: dict[str, tuple[list[Need], list[ShortlistEntry]]] = {}
    for buyer_id, picks in chosen.items():
        needs, entries = per_buyer[buyer_id]
        by_supplier = {e.supplier: e for e in entries}
        kept = [by_supplier[item] for item, _ in picks]
        for rank, entry in enumerate(kept, start=1):
            entry.rank = rank
        _explain_entries(engine, needs, kept)
        lists[buyer_id] = (needs, kept)
    after = {b: [e.supplier for e in entries] for b, (_, entries) in lists.items()}
    n = len(engine.corpus)
    return CrossShortlists(lists, exposure_stats(before, n_items=n), exposure_stats(after, n_items=n))


def statistics(engine: Engine, k: int = 10) -> dict[str, Any]:
    """What the ministries' shortlists contain: start-ups shown per region, segment, size and ministry."""
    regions: Counter[str] = Counter()
    segments: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    ministries = []
    for buyer_id, buyer_name, n_needs in engine.catalogue.buyers():
        _, entries = buyer_lists(engine, buyer_id, k, 10, None)  # no explanations needed for counts
        suppliers = [engine.corpus.suppliers[e.supplier] for e in entries]
        for s in suppliers:
            regions[s.region or "inconnue"] += 1
            segments.update(s.segments or ["aucun"])
            sizes[s.size or "inconnue"] += 1
        ministries.append(
            {
                "buyer_id": buyer_id,
                "buyer_name": buyer_name,
                "needs": n_needs,
                "startups": len(suppliers),
                "sme": sum(s.is_sme for s in suppliers),
            }
        )
    return {
        "k": k,
        "by_region": dict(regions.most_common()),
        "by_segment": dict(segments.most_common()),
        "by_size": dict(sizes.most_common()),
        "by_ministry": ministries,
    }
