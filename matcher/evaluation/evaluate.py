"""Benchmark runs: index a benchmark's suppliers, rank them for its needs, score, log to MLflow.

A benchmark is a folder with ``suppliers.*``, ``needs.*`` and optionally ``qrels.tsv`` and
``slices.tsv``. Labels never reach the ranking: they are read after the run is made. The
plain BM25 baseline (word tokens, no normalisation, the search-engine default) is run in
the same call so that every figure has its reference beside it.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import Encoder
from matcher.data.cpv import CpvVocabulary
from matcher.data.ingest import ImportReport, InputFileError, find_file, read_labels, read_needs, read_slices, read_suppliers
from matcher.data.schema import Need, Supplier
from matcher.data.text import plain_tokens
from matcher.evaluation.metrics import (
    EXTRA_METRICS,
    METRICS,
    compare_runs,
    evaluate_run,
    expected_calibration_error,
    recall_curve,
    reliability_table,
    run_ids,
)
from matcher.evaluation.tracking import mlflow_run
from matcher.ranking.corpus import Corpus
from matcher.ranking.lexical import BM25
from matcher.ranking.rank import Query, Ranker, RankingConfig

RUN_DEPTH = 100
log = logging.getLogger(__name__)


@dataclass
class Benchmark:
    """The files of a benchmark folder, read and validated."""

    folder: Path
    suppliers: list[Supplier]
    needs: list[Need]
    qrels: dict[str, dict[str, int]] | None
    slices: dict[str, list[str]]
    report: ImportReport

    @classmethod
    def load(cls, folder: str | Path) -> Benchmark:
        folder = Path(folder)
        if not folder.is_dir():
            raise InputFileError(f"{folder}: not a benchmark folder")
        report = ImportReport()
        sup_file, need_file = find_file(folder, "suppliers"), find_file(folder, "needs")
        if sup_file is None or need_file is None:
            raise InputFileError(f"{folder}: a benchmark needs suppliers.* and needs.* (jsonl, csv or parquet)")
        suppliers, r1 = read_suppliers(sup_file)
        needs, r2 = read_needs(need_file)
        report.add(r1)
        report.add(r2)
        qrels: dict[str, dict[str, int]] | None = None
        qrels_file = folder / "qrels.tsv"
        if qrels_file.is_file():
            labels, r3 = read_labels(qrels_file)
            report.add(r3)
            qrels = {}
            for label in labels:
                qrels.setdefault(label.need_id, {})[label.supplier_id] = label.relevance
        slices_file = folder / "slices.tsv"
        slices = read_slices(slices_file) if slices_file.is_file() else {}
        return cls(folder, suppliers, needs, qrels, slices, report)

    def split_by_date(self, date: str) -> tuple[Benchmark, Benchmark]:
        """Two benchmarks over the same suppliers: needs dated before ``date``, and the others.

        Needs without a date go to neither. For training on the first and reporting on the second.
        """

        def part(keep) -> Benchmark:
            needs = [n for n in self.needs if n.date and keep(n.date)]
            ids = {n.need_id for n in needs}
            qrels = None if self.qrels is None else {k: v for k, v in self.qrels.items() if k in ids}
            slices = {k: v for k, v in self.slices.items() if k in ids}
            return Benchmark(self.folder, self.suppliers, needs, qrels, slices, ImportReport())

        return part(lambda d: d < date), part(lambda d: d >= date)


@dataclass
class EvaluationResult:
    """Rankings and, when labels exist, their metrics for the system and the baseline."""

    run: dict[str, list[tuple[str, float]]]
    baseline_run: dict[str, list[tuple[str, float]]]
    metrics: dict[str, dict[str, float]] | None
    baseline_metrics: dict[str, dict[str, float]] | None
    n_needs: int
    config: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    #: per slice and metric: bootstrap 95 % interval of the system, difference to BM25 and its p-value
    versus_bm25: dict[str, dict[str, dict[str, float]]] | None = None
    #: how well the matches' probabilities are calibrated (their top ``CALIBRATION_DEPTH``), when they carry some
    calibration: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` contract: metrics, n_needs, config (+ the baseline beside them)."""

        def strip(m: dict[str, dict[str, float]] | None) -> dict[str, dict[str, float]] | None:
            return None if m is None else {s: {k: v for k, v in vals.items() if k in METRICS} for s, vals in m.items()}

        def extra(m: dict[str, dict[str, float]] | None) -> dict[str, dict[str, float]] | None:
            return None if m is None else {s: {k: v for k, v in vals.items() if k in EXTRA_METRICS} for s, vals in m.items()}

        return {
            "metrics": strip(self.metrics),
            "n_needs": self.n_needs,
            "config": self.config,
            "extra_metrics": extra(self.metrics),
            "baseline": {"bm25": {"metrics": strip(self.baseline_metrics), "extra_metrics": extra(self.baseline_metrics)}},
            "slices": None if self.metrics is None else {s: int(v["n"]) for s, v in self.metrics.items()},
            "intervals": None
            if self.versus_bm25 is None
            else {s: {m: [round(v["low"], 4), round(v["high"], 4)] for m, v in vals.items()} for s, vals in self.versus_bm25.items()},
            "versus_bm25": None
            if self.versus_bm25 is None
            else {
                s: {m: {"delta": round(v["delta"], 4), "p_value": round(v["p_value"], 4)} for m, v in vals.items()}
                for s, vals in self.versus_bm25.items()
            },
            "timings_s": self.timings,
            "calibration": self.calibration,
        }


def bm25_baseline(suppliers: list[Supplier], needs: list[Need], depth: int = RUN_DEPTH) -> dict[str, list[tuple[str, float]]]:
    """Plain BM25 over word tokens of each supplier's name, description and contract objects."""
    docs = [" ".join([s.name, s.description, *(r.objet for r in s.references)]) for s in suppliers]
    bm25 = BM25(plain_tokens).fit(docs)
    run = {}
    for need in needs:
        ids, scores = bm25.top(need.text, depth)
        run[need.need_id] = [(suppliers[i].supplier_id, float(sc)) for i, sc in zip(ids, scores)]
    return run


def run_benchmark(
    bench: Benchmark,
    encoder: Encoder,
    cpv: CpvVocabulary | None = None,
    config: RankingConfig | None = None,
    depth: int = RUN_DEPTH,
    progress: bool | None = None,
    reranker: Any = None,
    reranker_info: dict[str, Any] | None = None,
    split: str = "as given by the benchmark folder",
    cpv_model: Any = None,
) -> EvaluationResult:
    """Rank the benchmark's suppliers for its needs; score when it has labels.

    ``reranker``: a fitted second stage (``matcher.learning.rerank``); ``None`` uses the hand-set weights.
    ``cpv_model``: the text → CPV classifier of the ``cpv_predicted`` feature (``None``: the feature stays 0).
    ``split``: how the benchmark was split from what the models learnt on, recorded with the result.
    """
    timings = {}
    t0 = time.perf_counter()
    corpus = Corpus(bench.suppliers, cpv)
    ranker = Ranker.build(corpus, encoder, config, progress=progress, reranker=reranker, cpv_model=cpv_model)
    timings["index"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rankings = ranker.rank_many([Query.from_need(n) for n in bench.needs], k=depth, progress=progress)
    run = {
        need.need_id: [(corpus.suppliers[m.supplier].supplier_id, m.score) for m in matches] for need, matches in zip(bench.needs, rankings)
    }
    timings["rank"] = time.perf_counter() - t0
    calibration = None
    if bench.qrels is not None:
        calibration = calibration_report(
            {
                need.need_id: [(corpus.suppliers[m.supplier].supplier_id, m.probability, m.level) for m in matches]
                for need, matches in zip(bench.needs, rankings)
            },
            bench.qrels,
        )
    t0 = time.perf_counter()
    baseline = bm25_baseline(bench.suppliers, bench.needs, depth)
    timings["baseline"] = time.perf_counter() - t0
    metrics = baseline_metrics = versus = None
    n_needs = len(bench.needs)
    if bench.qrels is not None:
        ids, baseline_ids = run_ids(run), run_ids(baseline)
        metrics = evaluate_run(ids, bench.qrels, bench.slices)
        baseline_metrics = evaluate_run(baseline_ids, bench.qrels, bench.slices)
        versus = compare_runs(ids, baseline_ids, bench.qrels, bench.slices)
        n_needs = int(metrics["all"]["n"])
    cfg = {
        "benchmark": str(bench.folder),
        "encoder": encoder.name,
        "encoder_version": encoder.version,
        "ranking": (config or RankingConfig()).as_params(),
        "reranker": reranker_info or {"reranker": "none" if reranker is None else type(reranker).__name__},
        "depth": depth,
        "n_suppliers": len(bench.suppliers),
        "n_needs_ranked": len(bench.needs),
        "n_evidence": len(corpus.evidence),
        "cpv_labels": bool(cpv),
        "split": split,
    }
    return EvaluationResult(
        run, baseline, metrics, baseline_metrics, n_needs, cfg, {k: round(v, 2) for k, v in timings.items()}, versus, calibration
    )


#: the matches of a ranking whose probabilities are measured (what people see first)
CALIBRATION_DEPTH = 10


def calibration_report(matches: dict[str, list[tuple[str, float | None, str]]], qrels: dict[str, dict[str, int]]) -> dict[str, Any] | None:
    """Expected calibration error of the probabilities of each labelled need's first matches (``None``
    when they carry none), of its best match alone, and how the levels fared."""
    p, y, best_p, best_y, levels = [], [], [], [], {"forte": [0, 0], "possible": [0, 0], "faible": [0, 0]}
    for need_id, ranked in matches.items():
        labels = qrels.get(need_id)
        if not labels or not any(g > 0 for g in labels.values()):
            continue
        for rank, (supplier_id, probability, level) in enumerate(ranked[:CALIBRATION_DEPTH]):
            if probability is None:
                continue
            pertinent = labels.get(supplier_id, 0) > 0
            p.append(probability)
            y.append(pertinent)
            if level in levels:
                levels[level][0] += 1
                levels[level][1] += pertinent
            if rank == 0:
                best_p.append(probability)
                best_y.append(pertinent)
    if not p:
        return None
    return {
        "depth": CALIBRATION_DEPTH,
        "n_matches": len(p),
        "ece": round(expected_calibration_error(np.asarray(p), np.asarray(y)), 4),
        "ece_best_match": round(expected_calibration_error(np.asarray(best_p), np.asarray(best_y)), 4),
        "mean_probability": round(float(np.mean(p)), 4),
        "observed_rate": round(float(np.mean(y)), 4),
        "levels": {name: {"n": n, "pertinent": round(k / n, 4) if n else None} for name, (n, k) in levels.items()},
        "reliability": reliability_table(np.asarray(p), np.asarray(y)),
    }


def write_trec_run(run: dict[str, list[tuple[str, float]]], path: str | Path, tag: str) -> None:
    """``need_id Q0 supplier_id rank score tag`` lines, space-separated (TREC run format)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for need_id in sorted(run):
            for rank, (supplier_id, score) in enumerate(run[need_id], start=1):
                handle.write(f"{need_id} Q0 {supplier_id} {rank} {score:.6f} {tag}\n")


def _metric_name(prefix: str, slice_name: str, metric: str) -> str:
    return f"{prefix}{slice_name}.{metric.replace('@', '_at_')}"


def evaluation_figures(result: EvaluationResult, qrels: dict[str, dict[str, int]]) -> dict[str, Any]:
    """The recall@k curve and per-slice MRR bars, system beside BM25 (matplotlib figures)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve, base = recall_curve(run_ids(result.run), qrels), recall_curve(run_ids(result.baseline_run), qrels)
    fig_curve, ax = plt.subplots(figsize=(6, 4))
    ax.plot(list(curve), list(curve.values()), marker="o", label="matcher")
    ax.plot(list(base), list(base.values()), marker="o", label="BM25")
    ax.set_xscale("log")
    ax.set_xlabel("k")
    ax.set_ylabel("recall@k")
    ax.set_title("Rappel@k")
    ax.grid(alpha=0.3)
    ax.legend()
    fig_bars, ax = plt.subplots(figsize=(6, 4))
    names = list(result.metrics or {})
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [result.metrics[n]["mrr"] for n in names], width=0.4, label="matcher")  # type: ignore[index]
    ax.bar([x + 0.2 for x in xs], [result.baseline_metrics[n]["mrr"] for n in names], width=0.4, label="BM25")  # type: ignore[index]
    ax.set_xticks(list(xs), [f"{n} ({int(result.metrics[n]['n'])})" for n in names])  # type: ignore[index]
    ax.set_ylabel("MRR")
    ax.set_title("MRR par tranche")
    ax.legend()
    figures = {"recall_at_k": fig_curve, "mrr_by_slice": fig_bars}
    if result.calibration is not None:
        rows = [r for r in result.calibration["reliability"] if r["n"]]
        fig_rel, ax = plt.subplots(figsize=(5, 5))
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="calibration parfaite")
        ax.plot([r["mean_probability"] for r in rows], [r["observed"] for r in rows], marker="o", label="matcher")
        ax.set_xlabel("probabilité annoncée")
        ax.set_ylabel("part de correspondances pertinentes")
        ax.set_title(f"Fiabilité (ECE {result.calibration['ece']:.3f})")
        ax.legend()
        figures["reliability"] = fig_rel
    for fig in figures.values():
        fig.tight_layout()
    return figures


def evaluation_run_name(config: dict[str, Any]) -> str:
    """A run name that says what was measured: the benchmark, the encoder and the scorer (MLflow would pick two random words)."""
    reranker = config.get("reranker") or {}
    scorer = reranker.get("reranker", "none")
    scorer = "poids fixés à la main" if scorer in ("none", "", None) else f"{scorer}@{reranker.get('version', '')}".rstrip("@")
    return f"{Path(str(config.get('benchmark', 'benchmark'))).name} · {config.get('encoder', '?')} · {scorer}"


def log_to_mlflow(
    result: EvaluationResult,
    tracking_uri: str,
    artifact_root: Path | None = None,
    experiment: str = "matcher-evaluate",
    qrels: dict[str, dict[str, int]] | None = None,
) -> str:
    """Log params, metrics (system and baseline), plots and the run files; return the MLflow run id."""
    import mlflow

    with mlflow_run(tracking_uri, experiment, artifact_root, run_name=evaluation_run_name(result.config)) as active:
        cfg = dict(result.config)
        ranking = cfg.pop("ranking", {})
        reranker = cfg.pop("reranker", {})
        cfg["reranker"] = reranker.get("reranker", "none")
        cfg["reranker_version"] = reranker.get("version", "")
        mlflow.log_params({**{k: v for k, v in cfg.items()}, **{f"ranking.{k}": v for k, v in ranking.items()}})
        metrics: dict[str, float] = {"n_needs": result.n_needs}
        for prefix, values in (("", result.metrics), ("bm25.", result.baseline_metrics)):
            for slice_name, vals in (values or {}).items():
                for metric, value in vals.items():
                    if metric != "n":
                        metrics[_metric_name(prefix, slice_name, metric)] = float(value)
        metrics.update({f"time.{k}_s": v for k, v in result.timings.items()})
        if result.calibration is not None:
            metrics["calibration.ece"] = result.calibration["ece"]
            metrics["calibration.ece_best_match"] = result.calibration["ece_best_match"]
        mlflow.log_metrics(metrics)
        if result.metrics is not None and qrels is not None:
            for name, figure in evaluation_figures(result, qrels).items():
                mlflow.log_figure(figure, f"plots/{name}.png")
        with tempfile.TemporaryDirectory() as tmp:
            write_trec_run(result.run, Path(tmp) / "run.trec", "matcher")
            write_trec_run(result.baseline_run, Path(tmp) / "bm25.trec", "bm25")
            (Path(tmp) / "result.json").write_text(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
            mlflow.log_artifacts(tmp)
        return active.info.run_id


def log_training_to_mlflow(
    model_dir: Path, manifest: dict[str, Any], tracking_uri: str, artifact_root: Path | None = None, experiment: str = "matcher-train"
) -> str:
    """Log a model fit: its parameters, training-set sizes, held-out metrics and the model folder."""
    import mlflow

    with mlflow_run(tracking_uri, experiment, artifact_root, run_name=f"{manifest['name']}-{manifest['version']}") as active:
        training = manifest.get("training", {})
        params = {k: v for k, v in manifest.items() if isinstance(v, (str, int, float)) and k not in ("held_out",)}
        params.update({f"model.{k}": v for k, v in manifest.get("params", {}).items()})
        params["training.sources"] = ";".join(str(v) for k, v in training.items() if k in ("benchmarks", "ilab"))[:500]
        mlflow.log_params(params)
        metrics = {f"training.{k}": float(v) for k, v in training.items() if isinstance(v, (int, float))}
        held_out = manifest.get("held_out", {})
        metrics.update({f"held_out.{k}": float(v) for k, v in held_out.items() if isinstance(v, (int, float))})
        for prefix, key in (("", "metrics"), ("hand.", "hand_weights_metrics"), ("bm25.", "bm25_metrics")):
            for slice_name, vals in (held_out.get(key) or {}).items():
                for metric, value in vals.items():
                    metrics[_metric_name(f"held_out.{prefix}", slice_name, metric)] = float(value)
        mlflow.log_metrics(metrics)
        mlflow.log_artifacts(str(model_dir), artifact_path="model")
        return active.info.run_id
