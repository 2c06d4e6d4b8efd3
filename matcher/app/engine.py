"""The assembled matcher — catalogue database, encoder, published FAISS index, ranker — and the
atomic swap of a loaded version.

``Engine.open(settings)`` is what the CLI and the service use. On an empty database it
loads the bundled (fictional) sample catalogue, so that everything runs out of the box.
The index is reused when its manifest matches the encoder and the catalogue; otherwise it is
updated in place of a copy (new texts appended, removed ones tombstoned: ``KeyedIndex``) and
published as a new version, and built from scratch only when there is no usable one.

The use cases built on an engine live beside it: ``matching``, ``shortlists``, ``feedback``,
``imports``, ``export``, ``learning``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from matcher.app.catalogue import open_catalogue
from matcher.app.indexing import synced_ranker
from matcher.data.catalogue import Catalogue
from matcher.data.cpv import CpvVocabulary
from matcher.index.manifest import IndexManifest
from matcher.learning.models import open_cpv_classifier, open_encoder, open_reranker
from matcher.ranking.corpus import Corpus
from matcher.ranking.explain import Explanation, explain
from matcher.ranking.rank import Match, Query, Ranker, RankingConfig
from matcher.settings import Settings

log = logging.getLogger(__name__)


class Engine:
    """Everything needed to answer a need: catalogue, ranker, CPV labels, index manifest."""

    def __init__(
        self,
        settings: Settings,
        catalogue: Catalogue,
        ranker: Ranker,
        manifest: IndexManifest,
        reranker_info: dict | None = None,
        index_version: str = "",
        supplier_stamps: dict | None = None,
        last_update: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.ranker = ranker
        self.manifest = manifest
        self.reranker_info = reranker_info or {"reranker": "none"}
        #: the published index version this engine serves (its folder name in the index store)
        self.index_version = index_version
        #: when each supplier of the corpus was written in the catalogue (``refresh`` reads only newer ones)
        self.supplier_stamps = supplier_stamps or {}
        #: what opening or refreshing this engine did: suppliers read again, texts encoded, index changes
        self.last_update = last_update or {}

    @classmethod
    def open(cls, settings: Settings, config: RankingConfig | None = None, progress: bool | None = None) -> Engine:
        """Open the catalogue (seeding the sample when empty) and load the index, updated to the catalogue."""
        catalogue = open_catalogue(settings, with_sample=True)
        encoder = open_encoder(settings)
        suppliers, stamps = catalogue.supplier_snapshot()
        corpus = Corpus(suppliers, CpvVocabulary.load(settings.cpv_file))
        ranker, manifest, version, update = synced_ranker(
            settings, corpus, encoder, config, progress, cpv_model=open_cpv_classifier(settings)
        )
        ranker.reranker, reranker_info = open_reranker(settings, encoder)
        update["suppliers"] = {"read": len(suppliers)}
        return cls(settings, catalogue, ranker, manifest, reranker_info, version, stamps, update)

    def refresh(self, reload_reranker: bool = False) -> Engine:
        """A new engine on the catalogue as it is now, this one left serving until the caller swaps.

        Incremental all the way: only suppliers written since this engine's snapshot are read
        and processed (``Catalogue.supplier_changes``, ``Corpus.updated``), the lexical index
        re-tokenises only their documents, and the dense index is updated in place of a copy
        of the live one (new texts appended, removed ones tombstoned) and published as a new
        version. Encoder and settings are kept; so is the reranker, unless ``reload_reranker``
        (after a promotion: the new champion is opened).
        """
        changed, removed, stamps = self.catalogue.supplier_changes(self.supplier_stamps)
        corpus = self.corpus.updated(changed, removed) if changed or removed else self.corpus
        live = (self.ranker.index, self.manifest, self.index_version)
        ranker, manifest, version, update = synced_ranker(
            self.settings, corpus, self.ranker.encoder, self.ranker.config, False, live, self.ranker
        )
        reranker, reranker_info = (
            open_reranker(self.settings, ranker.encoder) if reload_reranker else (self.ranker.reranker, self.reranker_info)
        )
        if ranker is self.ranker and reranker is not ranker.reranker:
            # nothing changed in the catalogue, but the served ranker is never changed in place
            ranker = Ranker(ranker.corpus, ranker.encoder, ranker.index, ranker.config, previous=ranker)
        ranker.reranker = reranker
        update["suppliers"] = {"read": len(changed), "removed": len(removed)}
        return Engine(self.settings, self.catalogue, ranker, manifest, reranker_info, version, stamps, update)

    @property
    def corpus(self) -> Corpus:
        return self.ranker.corpus

    def explain(self, query: Query, match: Match) -> Explanation:
        """Why ``match`` answers ``query`` (evidence, shared terms, CPV, reasons in French)."""
        return explain(match, query, self.corpus, self.corpus.cpv)

    def versions(self) -> dict[str, str]:
        """Model and index versions, stamped on answers."""
        m = self.manifest
        info = self.reranker_info
        reranker = "none" if info["reranker"] == "none" else f"{info['reranker']} @{info.get('version', '')}"
        versions = {"encoder": m.encoder_key, "index": f"{m.catalogue_hash}@{m.created_at}", "reranker": reranker}
        if "scorers" in info:
            versions["scorers"] = info["scorers"]  # which regimes have their own scorer and a calibrated confidence
        return versions


class Served:
    """The engine a long-running process serves, and the atomic swap to a refreshed one.

    Readers take ``engine`` once per request and keep that version to the end of it; ``reload``
    (one at a time) builds the refreshed engine beside the served one and swaps the reference.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    def reload(self, reload_reranker: bool = False) -> Engine:
        """Bring the served engine up to the catalogue (index updated in place of a copy; the reranker
        reopened with ``reload_reranker``) and swap it in."""
        with self._lock:
            self.engine = self.engine.refresh(reload_reranker)
            return self.engine
