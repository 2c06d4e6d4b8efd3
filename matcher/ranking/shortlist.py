"""Ministry shortlists: the suppliers that answer a buyer's recorded needs best, over all of them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from matcher.data.schema import Need
from matcher.ranking.rank import Match


@dataclass
class ShortlistEntry:
    supplier: int
    score: float
    needs: list[tuple[str, str, int]] = field(default_factory=list)  # (need_id, title, rank)
    rank: int = 0
    best: Match | None = None
    best_need: int = -1  # position in ``needs`` of the need where it ranks best
    explanation: Any = None  # filled by the engine for display


def aggregate(needs: list[Need], rankings: list[list[Match]], k: int) -> list[ShortlistEntry]:
    """Sum over needs of a rank discount ``1 / log2(rank + 1)`` (as in DCG).

    The best match of a need counts 1, the tenth 0.29: a supplier near the top of several
    of the buyer's needs rises above one that fits a single need, but a supplier that is
    first for one need is not buried under generalists that are tenth everywhere. Ties are
    broken by best rank, then catalogue order (deterministic).
    """
    entries: dict[int, ShortlistEntry] = {}
    for position, (need, matches) in enumerate(zip(needs, rankings)):
        if not matches:
            continue
        for m in matches:
            entry = entries.setdefault(m.supplier, ShortlistEntry(m.supplier, 0.0))
            entry.score += 1.0 / math.log2(m.rank + 1)
            entry.needs.append((need.need_id, need.title or need.description[:80], m.rank))
            if entry.best is None or m.rank < entry.best.rank:
                entry.best, entry.best_need = m, position
    ordered = sorted(entries.values(), key=lambda e: (-e.score, min(r for _, _, r in e.needs), e.supplier))[:k]
    for rank, entry in enumerate(ordered, start=1):
        entry.rank = rank
        entry.score = round(entry.score, 4)
    return ordered
