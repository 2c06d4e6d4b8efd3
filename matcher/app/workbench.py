"""The data scientists' bench: the pieces the notebooks assemble by hand — benchmarks and their
runs, the ranking features, the estimator and its training set, metrics and paired tests, the
encoder training steps, tracking and promotion — re-exported so that a notebook, like every other
edge, imports the application layer only. Imported by the notebooks, never by the service."""

from __future__ import annotations

from embeddings import load_encoder
from embeddings.training import distill_static, retrieval_mrr, train_contrastive, train_tokenizer
from matcher.data.cpv import CpvVocabulary
from matcher.evaluation.evaluate import Benchmark, log_to_mlflow, run_benchmark
from matcher.evaluation.metrics import compare_runs
from matcher.learning.encoder_training import benchmark_pairs
from matcher.learning.promotion import compare_with_champion, promote, register_reranker, train_reranker
from matcher.learning.rerank import LinearRanker, training_set
from matcher.ranking.features import AWARD_FEATURES, TEXT_FEATURES
from matcher.ranking.rank import FEATURES

__all__ = [
    "AWARD_FEATURES",
    "FEATURES",
    "Benchmark",
    "CpvVocabulary",
    "LinearRanker",
    "benchmark_pairs",
    "compare_runs",
    "compare_with_champion",
    "distill_static",
    "load_encoder",
    "log_to_mlflow",
    "promote",
    "register_reranker",
    "retrieval_mrr",
    "run_benchmark",
    "train_contrastive",
    "train_reranker",
    "train_tokenizer",
    "TEXT_FEATURES",
    "training_set",
]
