"""The learning loop of the reranker: train on earlier needs, register, compare, promote.

``train_reranker`` fits a ``LinearRanker`` on benchmarks that are earlier in time than the
held-out one and measures it there beside the hand-set weights; ``register_reranker`` saves
it, logs the run to MLflow and registers it as the ``candidate``; ``compare_with_champion``
ranks a held-out benchmark with the candidate and the champion; ``promote`` moves the
``champion`` alias when the gain is significant. The CLI (``matcher train-reranker``,
``matcher promote``) and the notebooks call these functions.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embeddings import Encoder
from matcher.data.cpv import CpvVocabulary
from matcher.evaluation.evaluate import Benchmark, EvaluationResult, run_benchmark
from matcher.evaluation.metrics import compare_runs, run_ids
from matcher.learning.calibration import fit_confidence
from matcher.learning.models import open_cpv_classifier, open_encoder, open_registry, open_reranker
from matcher.learning.registry import REGISTERED_NAME, Decision, ModelRegistry, promotion_decision
from matcher.learning.rerank import LinearRanker, save_model, training_set
from matcher.ranking.confidence import Confidence
from matcher.ranking.features import TEXT_FEATURES
from matcher.ranking.regime import RegimeScorer
from matcher.settings import Settings


class TimeSplitError(ValueError):
    """Training needs are not all earlier than the needs a model is measured on."""


def need_dates(benchmarks: Sequence[Benchmark]) -> list[str]:
    """Sorted dates of the needs of the benchmarks (needs without a date are left out)."""
    return sorted(n.date for b in benchmarks for n in b.needs if n.date)


def check_time_split(trained_until: str | None, held_out: Benchmark) -> None:
    """Raise ``TimeSplitError`` unless every held-out need is later than ``trained_until``."""
    first = min((n.date for n in held_out.needs if n.date), default=None)
    if trained_until and first and trained_until >= first:
        raise TimeSplitError(
            f"training needs go up to {trained_until} but {held_out.folder} starts on {first}: train on earlier needs only (time split)"
        )


def _ids(result: EvaluationResult) -> dict[str, list[str]]:
    return run_ids(result.run)


@dataclass
class TrainedReranker:
    """A fitted reranker and its manifest (training data, parameters, held-out figures)."""

    model: LinearRanker
    manifest: dict[str, Any]
    held_out: EvaluationResult | None = None
    hand_weights: EvaluationResult | None = None
    versus_hand: dict[str, Any] = field(default_factory=dict)
    #: the text regime's scorer, when text-only training benchmarks were given
    text_model: LinearRanker | None = None
    #: the calibrated confidence of each regime's matches
    confidence: Confidence | None = None

    @property
    def scorer(self) -> LinearRanker | RegimeScorer:
        """What ranks with this training: the award model alone, or the regimes and their confidence."""
        if self.text_model is None and self.confidence is None:
            return self.model
        return RegimeScorer(self.model, self.text_model, self.confidence)


def train_reranker(
    train: Sequence[Benchmark],
    encoder: Encoder,
    cpv: CpvVocabulary | None = None,
    held_out: Benchmark | None = None,
    *,
    name: str = "reranker",
    objective: str = "pointwise",
    C: float = 1.0,
    seed: int = 0,
    progress: bool | None = None,
    text_train: Sequence[Benchmark] = (),
    award_model: LinearRanker | None = None,
    cpv_model: Any = None,
    cpv_model_for: Callable[[Benchmark], Any] | None = None,
) -> TrainedReranker:
    """Fit a reranker on ``train``; when ``held_out`` is given (later in time), measure it there.

    ``text_train``: text-only benchmarks (``matcher text-bench``) to fit the text regime's scorer
    on (``TEXT_FEATURES``, pairwise, each benchmark weighing the same); they must be earlier than
    ``held_out`` too. The held-out figures (model, hand-set weights, BM25, paired test against the
    hand-set weights) go into the manifest with the split they come from. ``award_model``: keep this
    fitted award scorer (not refitted: ``train`` then serves its confidence only).

    ``cpv_model``: the text → CPV classifier the service ranks with (its ``cpv_predicted`` feature,
    read by the text regime), used on ``held_out``; ``cpv_model_for(benchmark)``: the one each text
    training benchmark is ranked with — a classifier that never saw its needs
    (``cpv_classifier.cross_fitted``); ``cpv_model`` for all when not given.
    """
    dates = need_dates(train)
    text_dates = need_dates(text_train)
    if held_out is not None:
        check_time_split(max(dates[-1:] + text_dates[-1:], default=None), held_out)
    data = training_set(train, encoder, cpv, progress=progress)
    if award_model is None:
        model = LinearRanker(objective=objective, C=C, random_state=seed)
        model.fit(data.columns(model.features), data.y, data.groups)
    else:
        model = award_model
    regimes = {"award": fit_confidence(data.X, data.y, data.groups, model, regime="award", progress=progress)}
    text_model: LinearRanker | None = None
    text_manifest: dict[str, Any] = {}
    if text_train:
        text_data = training_set(text_train, encoder, cpv, progress=progress, cpv_model_for=cpv_model_for or (lambda _: cpv_model))
        text_model = LinearRanker(objective="pairwise", C=C, random_state=seed, features=TEXT_FEATURES)
        weights = text_data.balanced_weights()
        text_model.fit(text_data.columns(TEXT_FEATURES), text_data.y, text_data.groups, weights)
        regimes["text"] = fit_confidence(
            text_data.X, text_data.y, text_data.groups, text_model, sample_weight=weights, regime="text", progress=progress
        )
        text_manifest = {
            "benchmarks": [str(b.folder) for b in text_train],
            "needs": text_data.n_needs,
            "needs_without_positive_candidate": text_data.n_needs_without_positive,
            "pairs": int(len(text_data.y)),
            "need_dates": [text_dates[0], text_dates[-1]] if text_dates else [],
            "features": list(TEXT_FEATURES),
            "weighting": "each benchmark the same total weight, shared by its needs",
        }
    manifest: dict[str, Any] = {
        "name": name,
        "version": time.strftime("%Y%m%d%H%M%S", time.gmtime()),
        "kind": "linear-ranker",
        "encoder": encoder.key,
        "params": model.get_params(),
        "training": {
            "benchmarks": [str(b.folder) for b in train],
            "needs": data.n_needs,
            "needs_without_positive_candidate": data.n_needs_without_positive,
            "pairs": int(len(data.y)),
            "need_dates": [dates[0], dates[-1]] if dates else [],
        },
    }
    if text_model is not None:
        manifest["text_regime"] = text_manifest
    manifest["confidence"] = {name: regime.report for name, regime in regimes.items()}
    trained = TrainedReranker(model, manifest, text_model=text_model, confidence=Confidence(regimes))
    if held_out is None:
        return trained
    with_model = run_benchmark(held_out, encoder, cpv, reranker=trained.scorer, progress=progress, cpv_model=cpv_model)
    hand = run_benchmark(held_out, encoder, cpv, progress=progress)
    eval_dates = need_dates([held_out])
    trained.held_out, trained.hand_weights = with_model, hand
    if with_model.metrics is not None and hand.metrics is not None:
        trained.versus_hand = compare_runs(_ids(with_model), _ids(hand), held_out.qrels or {}, held_out.slices)
    manifest["held_out"] = {
        "benchmark": str(held_out.folder),
        "split": f"time: training needs {dates[0] if dates else '?'}..{dates[-1] if dates else '?'}, "
        f"evaluation needs from {eval_dates[0] if eval_dates else '?'}",
        "metrics": with_model.metrics,
        "hand_weights_metrics": hand.metrics,
        "bm25_metrics": with_model.baseline_metrics,
        "versus_hand_weights": trained.versus_hand,
        "versus_bm25": with_model.versus_bm25,
    }
    return trained


def register_reranker(trained: TrainedReranker, folder: str | Path, settings: Settings, mlflow: bool = True) -> str | None:
    """Save the model folder; with ``mlflow``, log the run and register it as the ``candidate``.

    Returns the registry version (``None`` without MLflow).
    """
    save_model(folder, trained.model, trained.manifest, trained.text_model, trained.confidence)
    if not mlflow:
        return None
    from matcher.evaluation.evaluate import log_training_to_mlflow

    run_id = log_training_to_mlflow(Path(folder), trained.manifest, settings.tracking_uri, settings.data_dir / "mlartifacts")
    return ModelRegistry(settings.tracking_uri, settings.data_dir / "models" / "registry").register(run_id)


@dataclass
class PromotionReport:
    """The candidate against the champion on one held-out benchmark, and the decision."""

    candidate_version: str
    champion: str  # what serves today: a registry version, the shipped model or the hand-set weights
    candidate: EvaluationResult
    incumbent: EvaluationResult
    comparison: dict[str, Any]
    decision: Decision


def compare_with_champion(
    settings: Settings, bench: Benchmark, encoder: Encoder | None = None, progress: bool | None = None
) -> PromotionReport:
    """Rank ``bench`` with the registry's ``candidate`` and with the current champion; decide.

    Raises ``LookupError`` when there is no usable candidate, ``TimeSplitError`` when the
    candidate was trained on needs as late as the benchmark's, ``ValueError`` without qrels.
    """
    registry = open_registry(settings)
    version = registry.version_of("candidate") if registry is not None else None
    if version is None:
        raise LookupError("no candidate in the registry: train one with `matcher train-reranker` first")
    encoder = encoder or open_encoder(settings)
    cand_model, cand_info = open_reranker(settings.model_copy(update={"reranker": "candidate"}), encoder)
    if cand_model is None:
        raise LookupError(f"the candidate cannot be used: {cand_info['why']}")
    champ_model, champ_info = open_reranker(settings.model_copy(update={"reranker": "champion"}), encoder)
    check_time_split((cand_info.get("trained_on", {}).get("need_dates") or [None, None])[1], bench)
    if bench.qrels is None:
        raise ValueError(f"{bench.folder} has no qrels.tsv: nothing to compare on")
    cpv = CpvVocabulary.load(settings.cpv_file)
    cpv_model = open_cpv_classifier(settings)
    cand = run_benchmark(bench, encoder, cpv, reranker=cand_model, progress=progress, cpv_model=cpv_model)
    champ = run_benchmark(bench, encoder, cpv, reranker=champ_model, progress=progress, cpv_model=cpv_model)
    comparison = compare_runs(_ids(cand), _ids(champ), bench.qrels, bench.slices)
    champion = champ_info["reranker"] if champ_model is not None else "poids manuels"
    return PromotionReport(version, champion, cand, champ, comparison, promotion_decision(comparison))


def promote(settings: Settings, report: PromotionReport, ship: bool = False) -> Path | None:
    """Apply a positive decision: alias ``champion`` → the candidate; with ``ship``, copy it to ``models/reranker``.

    Does nothing (returns ``None``) when the decision is not to promote; returns the shipped
    folder when ``ship``.
    """
    if not report.decision.promote:
        return None
    registry = open_registry(settings)
    if registry is None:
        raise LookupError("no MLflow store: nothing to promote")
    registry.set_alias("champion", report.candidate_version)
    if not ship:
        return None
    target = settings.models_dir / "reranker"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(registry.files(report.candidate_version), target)
    return target


__all__ = [
    "REGISTERED_NAME",
    "PromotionReport",
    "TimeSplitError",
    "TrainedReranker",
    "check_time_split",
    "compare_with_champion",
    "promote",
    "register_reranker",
    "train_reranker",
]
