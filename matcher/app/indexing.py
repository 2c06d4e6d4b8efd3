"""Bringing the published index up to the catalogue: the one place a re-index happens.

Under the index store's writer lock, the live version is kept when it holds exactly the corpus's
texts; otherwise a copy is synced in place (only new texts encoded and appended, removed ones
tombstoned) or, with no usable index, a new one is built — and published as a new version.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from embeddings import Encoder
from matcher.index.keyed import KeyedIndex, SyncStats
from matcher.index.manifest import IndexManifest, IndexMismatchError, new_manifest
from matcher.index.store import IndexStore
from matcher.ranking.corpus import Corpus
from matcher.ranking.hubness import HubnessTable
from matcher.ranking.rank import Ranker, RankingConfig, evidence_hubness
from matcher.settings import Settings

log = logging.getLogger(__name__)


def synced_ranker(
    settings: Settings,
    corpus: Corpus,
    encoder: Encoder,
    config: RankingConfig | None,
    progress: bool | None,
    live: tuple[KeyedIndex, IndexManifest, str] | None = None,
    previous: Ranker | None = None,
    cpv_model: Any = None,
) -> tuple[Ranker, IndexManifest, str, dict[str, Any]]:
    """A ranker over ``corpus`` with the published index brought up to date; its manifest, version,
    and what was done (``{"texts": {"encoded", "from_cache"}, "index": SyncStats.as_dict()}``, empty
    counts when the live version already held the corpus).

    Under the index store's writer lock: the live version (``live`` when it is still the
    published one, else read from disk) is kept when it holds exactly the corpus's texts;
    otherwise a synced copy — only new texts encoded and appended, removed ones tombstoned
    (:meth:`KeyedIndex.synced`) — or, with no usable index, a new one is published. ``cpv_model``:
    the ranker's text → CPV classifier (``previous``'s when not given).
    """
    store = IndexStore(settings.index_dir / encoder.name)
    fingerprint = corpus.fingerprint()
    cache = getattr(encoder, "cache", None)
    counts = {"encoded": 0, "from_cache": 0}

    def encode(texts: list[str]) -> np.ndarray:
        """The texts' vectors, counting what the vector cache had (the counters are the encoder's: read around the call)."""
        hits, misses = (cache.hits, cache.misses) if cache is not None else (0, 0)
        log.info("encoding %d texts", len(texts))
        vectors = encoder.encode_passages(texts, progress=progress)
        counts["encoded"] += cache.misses - misses if cache is not None else len(texts)
        counts["from_cache"] += cache.hits - hits if cache is not None else 0
        return vectors

    with store.writer():
        current = store.current()
        index: KeyedIndex | None = None
        if live is not None and current is not None and live[2] == current.name:
            index, manifest, version = live
        else:
            try:
                index, manifest, version = store.load(expect_encoder=encoder.key)
            except (FileNotFoundError, IndexMismatchError) as exc:
                log.info("building the index (%s)", exc)
        if index is not None and manifest.catalogue_hash == fingerprint:
            unchanged = {"texts": {"encoded": 0, "from_cache": 0}, "index": SyncStats(kept=len(index)).as_dict()}
            if previous is not None and previous.corpus is corpus and previous.index is index:
                return previous, manifest, version, unchanged
            saved = HubnessTable.load(current) if current is not None else None
            return (
                Ranker(corpus, encoder, index, config, previous=previous, hubness=saved, cpv_model=cpv_model),
                manifest,
                version,
                unchanged,
            )
        keys, texts = corpus.index_texts()
        budget = settings.index_memory_bytes
        if index is None:
            index, stats = (
                KeyedIndex.build(keys, encode(texts), encoder.dim, memory_budget=budget),
                SyncStats(added=len(keys), rebuilt="no usable index"),
            )
        else:
            text_of = dict(zip(keys.tolist(), texts))
            index, stats = index.synced(keys, lambda new: encode([text_of[k] for k in new.tolist()]), budget)
        manifest = new_manifest(encoder.name, encoder.version, encoder.dim, index.n_slots, fingerprint, kind=index.kind)
        # the evidence rows' hubness is kept with the version: a start on it computes none
        known = None
        if not stats.rebuilt:  # an index synced in place: the rows it kept keep their hubness
            known = previous.hubness if previous is not None else HubnessTable.load(current) if current is not None else None
        hubness = evidence_hubness(corpus, index, known)
        version = store.publish(index, manifest, extra=hubness.save)
    ranker = Ranker(corpus, encoder, index, config, previous=previous, hubness=hubness, cpv_model=cpv_model)
    update = {"texts": counts, "index": stats.as_dict()}
    log.info("index version %s published: %s", version, update)
    return ranker, manifest, version, update
