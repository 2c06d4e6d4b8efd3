"""Evaluation — measuring rankings on labelled benchmarks.

``metrics`` (MRR, nDCG, recall as pure functions; bootstrap intervals and the paired test),
``evaluate`` (``Benchmark`` folders, ``run_benchmark`` beside the BM25 baseline, TREC runs, MLflow
logging at the edge).
"""

from matcher.evaluation.evaluate import Benchmark, EvaluationResult, run_benchmark, write_trec_run
from matcher.evaluation.metrics import compare_runs, evaluate_run

__all__ = ["Benchmark", "EvaluationResult", "compare_runs", "evaluate_run", "run_benchmark", "write_trec_run"]
