"""Ranking metrics as pure functions over a run and graded labels.

``run``: ``{need_id: [supplier_id, …]}`` best first. ``qrels``: ``{need_id: {supplier_id: grade}}``.
A need is scored when it has at least one label with a grade above 0; gains are the
grades (trec_eval's convention), discounts ``log2(rank + 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

Run = Mapping[str, Sequence[str]]
Qrels = Mapping[str, Mapping[str, int]]
METRICS = ("mrr", "ndcg@10", "recall@10", "recall@50")


def reciprocal_rank(ranking: Sequence[str], labels: Mapping[str, int]) -> float:
    for rank, supplier in enumerate(ranking, start=1):
        if labels.get(supplier, 0) > 0:
            return 1.0 / rank
    return 0.0


def ndcg(ranking: Sequence[str], labels: Mapping[str, int], k: int) -> float:
    dcg = sum(labels.get(s, 0) / math.log2(r + 1) for r, s in enumerate(ranking[:k], start=1) if labels.get(s, 0) > 0)
    ideal = sorted((g for g in labels.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(r + 1) for r, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


def recall(ranking: Sequence[str], labels: Mapping[str, int], k: int) -> float:
    relevant = {s for s, g in labels.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant & set(ranking[:k])) / len(relevant)


def scored_needs(run: Run, qrels: Qrels) -> list[str]:
    """Needs that have a positive label (whether or not the run ranked anything for them)."""
    return sorted(n for n, labels in qrels.items() if any(g > 0 for g in labels.values()))


def per_need(run: Run, qrels: Qrels, needs: Iterable[str] | None = None) -> dict[str, dict[str, float]]:
    """Every metric for every scored need."""
    out = {}
    for need in needs if needs is not None else scored_needs(run, qrels):
        ranking, labels = list(run.get(need, [])), qrels.get(need, {})
        out[need] = {
            "mrr": reciprocal_rank(ranking, labels),
            "ndcg@10": ndcg(ranking, labels, 10),
            "recall@10": recall(ranking, labels, 10),
            "recall@50": recall(ranking, labels, 50),
        }
    return out


def mean_metrics(values: Mapping[str, Mapping[str, float]], needs: Iterable[str] | None = None) -> dict[str, float]:
    """Averages over the given needs (all when ``None``), plus their count ``n``."""
    keys = list(values) if needs is None else [n for n in needs if n in values]
    out = {m: (sum(values[n][m] for n in keys) / len(keys) if keys else 0.0) for m in METRICS}
    out["n"] = len(keys)
    return out


def evaluate_run(run: Run, qrels: Qrels, slices: Mapping[str, Sequence[str]] | None = None) -> dict[str, dict[str, float]]:
    """``{"all": {...}, "<slice>": {...}}`` with each metric averaged over the scored needs."""
    values = per_need(run, qrels)
    result = {"all": mean_metrics(values)}
    by_slice: dict[str, list[str]] = {}
    for need, names in (slices or {}).items():
        for name in dict.fromkeys(names):  # a need listed twice in a slice counts once
            by_slice.setdefault(name, []).append(need)
    for name in sorted(by_slice):
        result[name] = mean_metrics(values, by_slice[name])
    return result
