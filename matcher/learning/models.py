"""The models the settings ask for: the encoder (behind its vector cache), the registry, the reranker.

What the application layer and the learning loop both open; each call builds what it returns.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embeddings import Encoder, load_encoder
from matcher.learning.registry import REGISTERED_NAME, ModelRegistry
from matcher.ranking.regime import REGIMES, RegimeScorer
from matcher.settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from matcher.learning.cpv_classifier import CpvClassifier
    from matcher.ranking.predicted_cpv import PredictedCpv

log = logging.getLogger(__name__)


def open_encoder(settings: Settings) -> Encoder:
    """The configured encoder, behind the persistent vector cache, its heavy lane's queue as the settings say."""
    settings.ensure_dirs()
    encoder = load_encoder(
        settings.encoder,
        models_dir=settings.models_dir,
        cache_path=settings.cache_dir / "vectors.sqlite",
        batch_size=settings.encode_batch_size,
    )
    encoder.lanes.heavy_queue = settings.heavy_queue
    return encoder


def open_registry(settings: Settings) -> ModelRegistry | None:
    """The model registry of the settings' MLflow store, or ``None`` when that store does not exist yet."""
    uri = settings.tracking_uri
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        return None
    return ModelRegistry(uri, settings.data_dir / "models" / "registry")


def open_reranker(settings: Settings, encoder: Encoder) -> tuple[Any, dict[str, Any]]:
    """The learned reranker the settings ask for, or ``None`` (hand-set weights), with what was used and why.

    ``MATCHER_RERANKER``: ``champion`` (default: the registry's champion, else the model shipped
    in ``models/reranker``), ``candidate`` or a registry version number, ``none``, or a folder.
    """
    from matcher.learning.rerank import load_model  # scikit-learn: imported when a reranker is asked for

    ref = settings.reranker.strip()
    if ref.lower() in ("", "none"):
        return None, {"reranker": "none", "why": "poids fixés à la main, demandés (MATCHER_RERANKER=none)"}
    folder: Path | None = None
    source = ""
    if ref in ("champion", "candidate") or ref.isdigit():
        registry = open_registry(settings)
        version = registry.version_of(ref) if registry is not None else None
        if version is not None:
            folder, source = registry.files(version), f"{REGISTERED_NAME} v{version} ({ref})"  # type: ignore[union-attr]
        elif ref == "champion":
            folder, source = settings.models_dir / "reranker", "livré dans models/reranker (pas de champion au registre)"
        else:
            return None, {"reranker": "none", "why": f"pas de version {ref!r} au registre : poids fixés à la main"}
    else:
        folder = settings.reranker_dir
        source = str(folder)
    try:
        model, manifest = load_model(folder, encoder.key)
    except FileNotFoundError:
        return None, {"reranker": "none", "why": f"pas de second étage entraîné dans {folder} : poids fixés à la main"}
    except ValueError as exc:
        log.warning("%s ; poids fixés à la main", exc)
        return None, {"reranker": "none", "why": str(exc)}
    info = {"reranker": source, "version": manifest.get("version", ""), "trained_on": manifest.get("training", {})}
    if isinstance(model, RegimeScorer):
        regimes = [name for name in REGIMES if model.for_regime(name) is not None]
        calibrated = sorted(model.confidence.regimes) if model.confidence is not None else []
        info["scorers"] = f"régimes : {', '.join(regimes)} ; confiance calibrée : {', '.join(calibrated) or 'aucune'}"
    return model, info


def _cpv_classifier_folder(settings: Settings) -> str | None:
    return _resolve_cpv_classifier(settings.cpv_classifier.strip(), str(settings.models_dir))


@functools.lru_cache(maxsize=16)
def _resolve_cpv_classifier(name: str, models_dir: str) -> str | None:
    """The classifier folder a setting names (looked up once per setting: every /match asks)."""
    if name.lower() in ("", "none"):
        return None
    folder = Path(name) if Path(name).is_dir() else Path(models_dir) / name
    if not (folder / "manifest.json").is_file():
        log.warning("no CPV classifier in %s: free-text needs get no CPV suggestion", folder)
        return None
    return str(folder.resolve())


def open_cpv_classifier(settings: Settings) -> CpvClassifier | None:
    """The text → CPV classifier the settings name (``None``: disabled, or no such folder — suggestions are then left out)."""
    folder = _cpv_classifier_folder(settings)
    return None if folder is None else _load_cpv_classifier(folder)


def likely_divisions(settings: Settings, text: str, predicted: PredictedCpv | None = None) -> list[tuple[str, float]]:
    """The CPV divisions worth suggesting for a text by the settings' classifier (at most five,
    likeliest first; none without one, or when the text says nothing of a purchase: see
    ``CpvClassifier.suggest``); the answer and its explanations ask for the same text: cached.
    ``predicted``: the ranker's predicted CPV — when it holds the same classifier, the text is
    classified once for both the suggestion and the ranking's ``cpv_predicted`` feature."""
    folder = _cpv_classifier_folder(settings)
    if folder is None:
        return []
    classifier = _load_cpv_classifier(folder)
    if predicted is not None and predicted.model is classifier:
        return classifier.suggest_from(predicted.need(text), 5)[0]
    return _top_divisions(folder, text)


@functools.lru_cache(maxsize=1024)
def _top_divisions(folder: str, text: str) -> list[tuple[str, float]]:
    return _load_cpv_classifier(folder).suggest([text], 5)[0]


@functools.lru_cache(maxsize=4)
def _load_cpv_classifier(folder: str) -> CpvClassifier:
    from matcher.learning.cpv_classifier import CpvClassifier  # scikit-learn: imported when a classifier is asked for

    return CpvClassifier.load(folder)
