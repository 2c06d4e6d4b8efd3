"""Exposure balancing across many shortlists (one per ministry or buyer), and exposure statistics.

Mission staff circulate one list of start-ups per ministry. Ranked independently, the same few
generalist start-ups top every list; :func:`balance` re-selects each list's items under a hard
cap on the number of lists an item may appear in and/or a soft penalty on items already shown
elsewhere. :func:`exposure_stats` measures how concentrated the exposure is (Gini coefficient).
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ExposureStats", "balance", "exposure_stats", "gini"]


@dataclass
class _Candidate:
    position: int  # in the list's ranking (0 = best)
    item: int
    score: float
    relevance: float  # score min-max normalised within the list, in [0, 1]


def _prepare(list_id: str, ranked: Sequence[tuple[int, float]]) -> list[_Candidate]:
    """Validate one list's candidates (finite, best first), drop repeated items, normalise scores."""
    seen: set[int] = set()
    kept: list[tuple[int, int, float]] = []
    previous = math.inf
    for position, (item, score) in enumerate(ranked):
        score = float(score)
        if not math.isfinite(score):
            raise ValueError(f"candidates[{list_id!r}]: score {score!r} of item {item!r} is not finite")
        if score > previous:
            raise ValueError(
                f"candidates[{list_id!r}] must be sorted best first: item {item!r} at position {position} has score {score} > {previous}"
            )
        previous = score
        if item not in seen:
            seen.add(item)
            kept.append((position, item, score))
    if not kept:
        return []
    high, low = kept[0][2], kept[-1][2]
    spread = high - low
    return [_Candidate(position, item, score, (score - low) / spread if spread > 0 else 1.0) for position, item, score in kept]


def balance(
    candidates: Mapping[str, Sequence[tuple[int, float]]],
    k: int,
    cap: int | None = None,
    trade_off: float = 0.0,
) -> dict[str, list[tuple[int, float]]]:
    """Choose ``k`` items per list so that the same items do not fill every list.

    ``candidates[list_id]`` is that list's ranking ``(item, score)``, best first (scores must be
    non-increasing; an item repeated in one list counts once). Selection is greedy, in ``k``
    rounds: in each round every list that is not full picks one item, the lists taking turns in
    the mapping's order rotated by one position per round (round ``r`` starts with list
    ``r mod n_lists``), so no list always picks first. A list picks, among its candidates not yet
    chosen and shown in fewer than ``cap`` lists, the one maximising::

        utility(i) = relevance(i) - trade_off * exposure(i) / n_lists

    where ``relevance(i) = (score(i) - min) / (max - min)`` is the score min-max normalised over
    that list's candidates (1.0 when all scores are equal) and ``exposure(i)`` the number of lists
    that already picked ``i``. Ties go to the better-ranked candidate. With ``trade_off = 1`` an
    item already in every list loses the whole relevance range of a list; with ``trade_off = 0``
    the penalty vanishes and, without a cap, each list gets exactly its own top-``k``. Under a cap,
    a contested item goes to the lists that rank it highest, since they pick it in earlier rounds.

    Returns, for each list (in the mapping's order), its chosen ``(item, original score)`` in
    display order (the list's own ranking order). A list with too few eligible candidates is
    shorter than ``k``. Deterministic: the same input gives the same output.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        raise ValueError(f"cap must be None or an integer >= 1, got {cap!r}")
    if not isinstance(trade_off, numbers.Real) or not 0.0 <= trade_off <= 1.0:
        raise ValueError(f"trade_off must be a number in [0, 1], got {trade_off!r}")

    list_ids = list(candidates)
    pools = {list_id: _prepare(list_id, candidates[list_id]) for list_id in list_ids}
    chosen: dict[str, list[_Candidate]] = {list_id: [] for list_id in list_ids}
    taken: dict[str, set[int]] = {list_id: set() for list_id in list_ids}
    exposure: Counter[int] = Counter()
    n_lists = len(list_ids)

    for round_index in range(k):
        start = round_index % n_lists if n_lists else 0
        for list_id in list_ids[start:] + list_ids[:start]:
            best: _Candidate | None = None
            best_utility = -math.inf
            for candidate in pools[list_id]:
                if candidate.item in taken[list_id] or (cap is not None and exposure[candidate.item] >= cap):
                    continue
                utility = candidate.relevance - trade_off * exposure[candidate.item] / n_lists
                if utility > best_utility:  # strict: ties go to the better-ranked candidate
                    best, best_utility = candidate, utility
            if best is not None:
                chosen[list_id].append(best)
                taken[list_id].add(best.item)
                exposure[best.item] += 1

    return {list_id: [(c.item, c.score) for c in sorted(chosen[list_id], key=lambda c: c.position)] for list_id in list_ids}


def gini(values: Sequence[float]) -> float:
    """Gini coefficient of non-negative values: 0 when all equal, ``(n - 1) / n`` when one holds all.

    ``G = 2 * sum_i(i * x_(i)) / (n * sum(x)) - (n + 1) / n`` with ``x`` sorted ascending and ``i``
    from 1; 0.0 for an empty sequence or an all-zero one.
    """
    ordered = sorted(float(v) for v in values)
    if ordered and ordered[0] < 0:
        raise ValueError(f"values must be non-negative, got {ordered[0]!r}")
    n, total = len(ordered), sum(ordered)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum(i * x for i, x in enumerate(ordered, start=1))
    return max(0.0, 2.0 * weighted / (n * total) - (n + 1) / n)


@dataclass
class ExposureStats:
    """How the slots of many lists are shared among items."""

    n_lists: int
    slots: int  # total entries shown, over all lists
    distinct_items: int
    max_exposure: int  # the most lists a single item appears in
    top_items: list[tuple[int, int]] = field(default_factory=list)  # (item, number of lists), most exposed first
    gini_shown: float = 0.0  # over the items shown at least once
    n_items: int | None = None  # catalogue size, when given
    gini_catalogue: float | None = None  # over the whole catalogue, items never shown counting 0
    coverage: float | None = None  # share of the catalogue shown at least once

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "n_lists": self.n_lists,
            "slots": self.slots,
            "distinct_items": self.distinct_items,
            "max_exposure": self.max_exposure,
            "top_items": [{"item": int(item), "lists": int(count)} for item, count in self.top_items],
            "gini_shown": self.gini_shown,
            "n_items": self.n_items,
            "gini_catalogue": self.gini_catalogue,
            "coverage": self.coverage,
        }


def exposure_stats(lists: Mapping[str, Sequence[int]], n_items: int | None = None, top: int = 5) -> ExposureStats:
    """Exposure statistics of ``lists`` (list id → items shown); ``n_items`` is the catalogue size.

    An item's exposure is the number of lists it appears in (a repeat inside one list counts
    once; ``slots`` counts every entry). ``top`` most exposed items are reported, ties in order
    of first appearance.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise ValueError(f"top must be an integer >= 0, got {top!r}")
    counts: Counter[int] = Counter()
    slots = 0
    for items in lists.values():
        slots += len(items)
        counts.update(dict.fromkeys(items, 1))
    distinct = len(counts)
    if n_items is not None and (isinstance(n_items, bool) or not isinstance(n_items, int) or n_items < distinct):
        raise ValueError(f"n_items must be an integer >= the {distinct} distinct items shown, got {n_items!r}")
    exposures = list(counts.values())
    stats = ExposureStats(
        n_lists=len(lists),
        slots=slots,
        distinct_items=distinct,
        max_exposure=max(exposures, default=0),
        top_items=counts.most_common(top),
        gini_shown=gini(exposures),
    )
    if n_items is not None:
        stats.n_items = n_items
        stats.gini_catalogue = gini(exposures + [0] * (n_items - distinct))
        stats.coverage = distinct / n_items if n_items else 0.0
    return stats
