"""Ranking metrics as pure functions over a run and graded labels.

``run``: ``{need_id: [supplier_id, …]}`` best first. ``qrels``: ``{need_id: {supplier_id: grade}}``.
A need is scored when it has at least one label with a grade above 0; gains are the
grades (trec_eval's convention), discounts ``log2(rank + 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

Run = Mapping[str, Sequence[str]]
Qrels = Mapping[str, Mapping[str, int]]
#: the metrics of the ``matcher evaluate --json`` contract
METRICS = ("mrr", "ndcg@10", "recall@10", "recall@50")
#: reported beside them (the first stage's reach)
EXTRA_METRICS = ("recall@100",)


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
            "recall@100": recall(ranking, labels, 100),
        }
    return out


def mean_metrics(values: Mapping[str, Mapping[str, float]], needs: Iterable[str] | None = None) -> dict[str, float]:
    """Averages over the given needs (all when ``None``), plus their count ``n``."""
    keys = list(values) if needs is None else [n for n in needs if n in values]
    out = {m: (sum(values[n][m] for n in keys) / len(keys) if keys else 0.0) for m in (*METRICS, *EXTRA_METRICS)}
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


def bootstrap_interval(values: Sequence[float], n_resamples: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of per-need values."""
    data = np.asarray(values, dtype=np.float64)
    if len(data) == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(n_resamples, len(data)))].mean(axis=1)
    alpha = (1.0 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def paired_test(a: Sequence[float], b: Sequence[float], n_resamples: int = 10000, seed: int = 0) -> float:
    """Two-sided p-value that systems A and B score the same on paired per-need values.

    Approximate randomisation: the sign of each need's difference is flipped at random; the
    p-value is the share of flips whose mean difference is at least as large as observed.
    """
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if len(diff) == 0 or not np.any(diff):
        return 1.0
    rng = np.random.default_rng(seed)
    observed = abs(diff.mean())
    signs = rng.choice((-1.0, 1.0), size=(n_resamples, len(diff)))
    flipped = np.abs((signs * diff).mean(axis=1))
    return float((np.sum(flipped >= observed - 1e-12) + 1) / (n_resamples + 1))


def compare_runs(
    system: Run, other: Run, qrels: Qrels, slices: Mapping[str, Sequence[str]] | None = None
) -> dict[str, dict[str, dict[str, float]]]:
    """Per slice and metric: the system's 95 % interval, and its difference to ``other`` with a p-value."""
    a, b = per_need(system, qrels), per_need(other, qrels)
    groups: dict[str, list[str]] = {"all": list(a)}
    for need, names in (slices or {}).items():
        for name in dict.fromkeys(names):
            if need in a:
                groups.setdefault(name, []).append(need)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, needs in groups.items():
        out[name] = {}
        for metric in METRICS:
            va = [a[n][metric] for n in needs]
            vb = [b[n][metric] for n in needs]
            low, high = bootstrap_interval(va)
            out[name][metric] = {
                "low": low,
                "high": high,
                "delta": (sum(va) - sum(vb)) / len(needs) if needs else 0.0,
                "p_value": paired_test(va, vb),
            }
    return out


def recall_curve(run: Run, qrels: Qrels, ks: Sequence[int] = (1, 2, 5, 10, 20, 50, 100)) -> dict[int, float]:
    """Mean recall@k over the scored needs, for each k."""
    needs = scored_needs(run, qrels)
    return {k: (sum(recall(list(run.get(n, [])), qrels[n], k) for n in needs) / len(needs) if needs else 0.0) for k in ks}


def run_ids(run: dict[str, list[tuple[str, float]]]) -> dict[str, list[str]]:
    """A run's ranked ids per need, scores dropped: what the metrics read."""
    return {need: [sid for sid, _ in ranking] for need, ranking in run.items()}


# -- calibration of the matches' probabilities ---------------------------------------------------
def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """ECE: the mean |observed rate − mean probability| over equal-width probability bins, weighted by their size."""
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(p) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            error += inside.mean() * abs(y[inside].mean() - p[inside].mean())
    return float(error)


def reliability_table(p: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Per probability bin: its bounds, count, mean probability and observed rate (a reliability diagram's points)."""
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = which == b
        n = int(inside.sum())
        rows.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "n": n,
                "mean_probability": float(p[inside].mean()) if n else 0.0,
                "observed": float(y[inside].mean()) if n else 0.0,
            }
        )
    return rows
