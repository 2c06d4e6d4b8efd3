"""Metric code: hand-computed cases and a cross-check against ir-measures (trec_eval)."""

from __future__ import annotations

import math
import random

import ir_measures
import pytest
from ir_measures import RR, R, nDCG

from matcher.evaluation.metrics import evaluate_run, ndcg, recall, reciprocal_rank


def test_hand_computed() -> None:
    labels = {"a": 1, "b": 2}
    ranking = ["x", "b", "y", "a"]
    assert reciprocal_rank(ranking, labels) == 0.5
    assert recall(ranking, labels, 2) == 0.5
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert ndcg(ranking, labels, 10) == pytest.approx(dcg / idcg)
    assert reciprocal_rank(["x"], labels) == 0.0


def test_slices_and_unlabelled_needs() -> None:
    run = {"n1": ["a"], "n2": ["b", "a"], "n3": ["c"]}
    qrels = {"n1": {"a": 1}, "n2": {"a": 1}}
    result = evaluate_run(run, qrels, {"n1": ["new-pair"], "n2": ["repeat"], "n3": ["new-pair"]})
    assert result["all"]["n"] == 2 and result["all"]["mrr"] == pytest.approx(0.75)
    assert result["new-pair"]["n"] == 1 and result["new-pair"]["mrr"] == 1.0
    assert result["repeat"]["mrr"] == 0.5


def test_agrees_with_ir_measures_on_random_runs() -> None:
    rng = random.Random(7)
    docs = [f"d{i}" for i in range(60)]
    run, qrels = {}, {}
    for q in range(40):
        qid = f"q{q}"
        ranking = rng.sample(docs, 55)
        run[qid] = ranking
        qrels[qid] = {d: rng.choice([1, 2, 3]) for d in rng.sample(docs, rng.randint(1, 4))}
    ours = evaluate_run(run, qrels)["all"]
    ref_qrels = [ir_measures.Qrel(q, d, g) for q, labels in qrels.items() for d, g in labels.items()]
    ref_run = [ir_measures.ScoredDoc(q, d, float(len(r) - i)) for q, r in run.items() for i, d in enumerate(r)]
    ref = ir_measures.calc_aggregate([RR, nDCG @ 10, R @ 10, R @ 50], ref_qrels, ref_run)
    assert ours["mrr"] == pytest.approx(ref[RR])
    assert ours["ndcg@10"] == pytest.approx(ref[nDCG @ 10])
    assert ours["recall@10"] == pytest.approx(ref[R @ 10])
    assert ours["recall@50"] == pytest.approx(ref[R @ 50])


def test_bootstrap_interval_and_paired_test() -> None:
    import numpy as np
    from scipy import stats

    from matcher.evaluation.metrics import bootstrap_interval, paired_test

    rng = np.random.default_rng(0)
    values = rng.random(300)
    low, high = bootstrap_interval(values)
    assert low < values.mean() < high and high - low < 0.1
    assert bootstrap_interval(values[:30])[1] - bootstrap_interval(values[:30])[0] > high - low
    assert paired_test(values, values) == 1.0
    better = values + 0.05
    assert paired_test(better, values) < 0.001
    # agrees with SciPy's exact-in-the-limit paired permutation test on noisy data
    a, b = rng.random(60), rng.random(60)
    ref = stats.permutation_test((a, b), lambda x, y: np.mean(x - y), permutation_type="samples", n_resamples=20000, random_state=0).pvalue
    assert paired_test(a, b) == pytest.approx(ref, abs=0.03)
