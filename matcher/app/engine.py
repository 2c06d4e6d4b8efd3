"""The assembled matcher: catalogue database + encoder + saved FAISS index + ranker.

``Engine.open(settings)`` is what the CLI and the service use. On an empty database it
loads the bundled (fictional) sample catalogue, so that everything runs out of the box.
The index is reused when its manifest matches the encoder and the catalogue; otherwise it is
updated in place of a copy (new texts appended, removed ones tombstoned: ``KeyedIndex``) and
published as a new version, and built from scratch only when there is no usable one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from embeddings.base import EncoderBusy
from matcher.app.indexing import synced_ranker
from matcher.data.catalogue import Catalogue
from matcher.data.cpv import CpvVocabulary
from matcher.data.ingest import ImportReport
from matcher.data.schema import Need, Supplier
from matcher.index.manifest import IndexManifest
from matcher.learning.models import open_encoder, open_reranker
from matcher.ranking.corpus import Corpus
from matcher.ranking.explain import Explanation, explain
from matcher.ranking.rank import Filters, Match, Query, Ranker, RankingConfig
from matcher.ranking.shortlist import ShortlistEntry, aggregate
from matcher.settings import Settings

log = logging.getLogger(__name__)


class Overloaded(EncoderBusy):
    """The request's time budget ran out while it was being ranked (``EncoderBusy``, its base, is the
    encoder's own refusal). ``retry_after``: seconds after which a retry is sensible."""


class BatchTooLarge(ValueError):
    """A batch of queries whose texts hold more tokens than ``Settings.max_batch_tokens``."""


_KIND_FR = {"need": "besoin", "buyer": "acheteur", "supplier": "fournisseur"}


class NotFoundError(LookupError):
    """An unknown need, buyer or supplier id."""

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{_KIND_FR.get(kind, kind)} {ident!r} introuvable")
        self.kind = kind
        self.ident = ident


def sample_data_dir() -> Path:
    """The bundled fictional catalogue (suppliers, needs, labels)."""
    return Path(str(resources.files("matcher") / "sample_data"))


def load_sample(catalogue: Catalogue) -> ImportReport:
    """Import the bundled sample catalogue into ``catalogue`` (suppliers, needs, labels: the one import path)."""
    from matcher.app.imports import import_file

    folder = sample_data_dir()
    report = ImportReport()
    for kind, name in (("suppliers", "suppliers.jsonl"), ("needs", "needs.jsonl"), ("labels", "qrels.tsv")):
        report.add(import_file(catalogue, kind, folder / name, f"sample:{folder / name}").report)
    return report


@dataclass
class MatchResult:
    """A ranked supplier with its explanation (what the CLI prints and the API returns)."""

    rank: int
    score: float
    supplier: Supplier
    features: dict[str, float]
    explanation: Explanation

    def to_dict(self) -> dict[str, Any]:
        s = self.supplier
        return {
            "rank": self.rank,
            "score": round(self.score, 4),
            "supplier_id": s.supplier_id,
            "name": s.name,
            "region": s.region,
            "segments": s.segments,
            "tags": s.tags,
            "size": s.size,
            "is_sme": s.is_sme,
            "website": s.website,
            "features": {k: round(v, 4) for k, v in self.features.items()},
            "explanation": {
                "reasons": self.explanation.reasons,
                "evidence": [vars(e) for e in self.explanation.evidence],
                "shared_terms": self.explanation.shared_terms,
                "cpv": self.explanation.cpv,
                "segment": self.explanation.segment,
            },
        }


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
        settings.ensure_dirs()
        catalogue = Catalogue(settings.db_url)
        if catalogue.counts()["suppliers"] == 0:
            log.info("empty catalogue: loading the bundled sample data")
            load_sample(catalogue)
        encoder = open_encoder(settings)
        suppliers, stamps = catalogue.supplier_snapshot()
        corpus = Corpus(suppliers, CpvVocabulary.load(settings.cpv_file))
        ranker, manifest, version, update = synced_ranker(settings, corpus, encoder, config, progress)
        ranker.reranker, reranker_info = open_reranker(settings, encoder)
        update["suppliers"] = {"read": len(suppliers)}
        return cls(settings, catalogue, ranker, manifest, reranker_info, version, stamps, update)

    def refresh(self) -> Engine:
        """A new engine on the catalogue as it is now, this one left serving until the caller swaps.

        Incremental all the way: only suppliers written since this engine's snapshot are read
        and processed (``Catalogue.supplier_changes``, ``Corpus.updated``), the lexical index
        re-tokenises only their documents, and the dense index is updated in place of a copy
        of the live one (new texts appended, removed ones tombstoned) and published as a new
        version. Encoder, reranker and settings are kept.
        """
        changed, removed, stamps = self.catalogue.supplier_changes(self.supplier_stamps)
        corpus = self.corpus.updated(changed, removed) if changed or removed else self.corpus
        live = (self.ranker.index, self.manifest, self.index_version)
        ranker, manifest, version, update = synced_ranker(
            self.settings, corpus, self.ranker.encoder, self.ranker.config, False, live, self.ranker
        )
        ranker.reranker = self.ranker.reranker
        update["suppliers"] = {"read": len(changed), "removed": len(removed)}
        return Engine(self.settings, self.catalogue, ranker, manifest, self.reranker_info, version, stamps, update)

    @property
    def corpus(self) -> Corpus:
        return self.ranker.corpus

    def versions(self) -> dict[str, str]:
        """Model and index versions, stamped on answers."""
        m = self.manifest
        info = self.reranker_info
        reranker = "none" if info["reranker"] == "none" else f"{info['reranker']} @{info.get('version', '')}"
        return {"encoder": m.encoder_key, "index": f"{m.catalogue_hash}@{m.created_at}", "reranker": reranker}

    # -- answers --------------------------------------------------------------------------
    def explain(self, query: Query, match: Match) -> Explanation:
        """Why ``match`` answers ``query`` (evidence, shared terms, CPV, reasons in French)."""
        return explain(match, query, self.corpus, self.corpus.cpv)

    def match(self, query: Query, k: int = 10, filters: Filters | None = None, deadline: float | None = None) -> list[MatchResult]:
        """The ``k`` best suppliers for a query, explained."""
        return self.match_many([query], [k], [filters], deadline)[0]

    def match_many(
        self, queries: list[Query], ks: list[int], filters: list[Filters | None], deadline: float | None = None
    ) -> list[list[MatchResult]]:
        """Explained rankings for several queries (each with its ``k`` and filters), texts encoded in one batched pass.

        Each text is cut to what the encoder reads. ``deadline`` (``time.monotonic()``): ``EncoderBusy``
        when it passes while waiting for the encoder, ``Overloaded`` (a subclass) between queries.
        ``BatchTooLarge`` when several queries hold more than ``Settings.max_batch_tokens`` tokens.
        """
        if len(queries) > 1:
            encoder = self.ranker.encoder
            total = sum(encoder.count_tokens(encoder.clip_query(self.ranker.query_text(q))) for q in queries)
            if total > self.settings.max_batch_tokens:
                raise BatchTooLarge(
                    f"queries : {total} jetons au total, plus que les {self.settings.max_batch_tokens} qu'un lot peut contenir (scindez-le)"
                )
        qvecs = self.ranker.query_vectors(queries, progress=False, deadline=deadline)
        out = []
        for q, v, k, f in zip(queries, qvecs, ks, filters):
            if deadline is not None and time.monotonic() > deadline:
                raise Overloaded("délai dépassé pendant le classement", retry_after=2.0)
            out.append(
                [
                    MatchResult(m.rank, m.score, self.corpus.suppliers[m.supplier], m.features, self.explain(q, m))
                    for m in self.ranker.rank(q, k, f, qvec=v)
                ]
            )
        return out

    def match_need(self, need_id: str, k: int = 10, filters: Filters | None = None) -> tuple[Need, list[MatchResult]]:
        need = self.catalogue.need(need_id)
        if need is None:
            raise NotFoundError("need", need_id)
        return need, self.match(Query.from_need(need), k, filters)

    def _buyer_lists(self, buyer_id: str, depth: int, per_need: int, filters: Filters | None) -> tuple[list[Need], list[ShortlistEntry]]:
        """A buyer's needs and its aggregated list ``depth`` deep (not explained)."""
        needs = self.catalogue.needs(buyer_id)
        if not needs:
            raise NotFoundError("buyer", buyer_id)
        queries = [Query.from_need(n) for n in needs]
        qvecs = self.ranker.query_vectors(queries, progress=False)
        rankings = [self.ranker.rank(q, per_need, filters, qvec=v) for q, v in zip(queries, qvecs)]
        return needs, aggregate(needs, rankings, depth)

    def _explain_entries(self, needs: list[Need], entries: list[ShortlistEntry]) -> None:
        for entry in entries:
            if entry.best is not None and entry.explanation is None:
                entry.explanation = self.explain(Query.from_need(needs[entry.best_need]), entry.best)

    def shortlist(
        self, buyer_id: str, k: int = 10, per_need: int = 10, filters: Filters | None = None
    ) -> tuple[list[Need], list[ShortlistEntry]]:
        """A buyer's shortlist over all its recorded needs, each entry explained by its best need."""
        needs, entries = self._buyer_lists(buyer_id, k, per_need, filters)
        self._explain_entries(needs, entries)
        return needs, entries

    # -- staff views ----------------------------------------------------------------------
    def all_shortlists(
        self, k: int = 10, per_need: int = 10, filters: Filters | None = None, cap: int | None = None, trade_off: float = 0.0
    ) -> CrossShortlists:
        """Every buyer's shortlist, with exposure balancing across them (``cap``, ``trade_off``).

        Each buyer's list is aggregated 3×k deep so that balancing has alternatives to pick;
        the exposure of the unbalanced top-k lists is reported beside the balanced one.
        """
        from matcher.ranking.exposure import balance, exposure_stats

        per_buyer: dict[str, tuple[list[Need], list[ShortlistEntry]]] = {}
        for buyer_id, _, _ in self.catalogue.buyers():
            needs, entries = self._buyer_lists(buyer_id, 3 * k, max(per_need, k), filters)
            per_buyer[buyer_id] = (needs, entries)
        before = {b: [e.supplier for e in entries[:k]] for b, (_, entries) in per_buyer.items()}
        chosen = balance({b: [(e.supplier, e.score) for e in entries] for b, (_, entries) in per_buyer.items()}, k, cap, trade_off)
        lists: dict[str, tuple[list[Need], list[ShortlistEntry]]] = {}
        for buyer_id, picks in chosen.items():
            needs, entries = per_buyer[buyer_id]
            by_supplier = {e.supplier: e for e in entries}
            kept = [by_supplier[item] for item, _ in picks]
            for rank, entry in enumerate(kept, start=1):
                entry.rank = rank
            self._explain_entries(needs, kept)
            lists[buyer_id] = (needs, kept)
        after = {b: [e.supplier for e in entries] for b, (_, entries) in lists.items()}
        n = len(self.corpus)
        return CrossShortlists(lists, exposure_stats(before, n_items=n), exposure_stats(after, n_items=n))

    def needs_for_supplier(
        self, supplier_id: str, k: int = 10, buyer_id: str | None = None, depth: int = 100
    ) -> list[tuple[Need, MatchResult]]:
        """The reverse question: recorded needs where this supplier ranks best (within ``depth``).

        Ordered by its rank for the need, then by score; ``buyer_id`` keeps one organisation's needs.
        """
        position = self.corpus.position.get(supplier_id)
        if position is None:
            raise NotFoundError("supplier", supplier_id)
        needs = self.catalogue.needs(buyer_id)
        queries = [Query.from_need(n) for n in needs]
        qvecs = self.ranker.query_vectors(queries, progress=False)
        found: list[tuple[int, float, int, Match]] = []
        for i, (query, qvec) in enumerate(zip(queries, qvecs)):
            for m in self.ranker.rank(query, depth, qvec=qvec):
                if m.supplier == position:
                    found.append((m.rank, -m.score, i, m))
                    break
        found.sort(key=lambda t: t[:3])
        supplier = self.corpus.suppliers[position]
        return [(needs[i], MatchResult(m.rank, m.score, supplier, m.features, self.explain(queries[i], m))) for _, _, i, m in found[:k]]

    def statistics(self, k: int = 10) -> dict[str, Any]:
        """What the ministries' shortlists contain: start-ups shown per region, segment, size and ministry."""
        from collections import Counter

        regions: Counter[str] = Counter()
        segments: Counter[str] = Counter()
        sizes: Counter[str] = Counter()
        ministries = []
        for buyer_id, buyer_name, n_needs in self.catalogue.buyers():
            _, entries = self._buyer_lists(buyer_id, k, 10, None)  # no explanations needed for counts
            suppliers = [self.corpus.suppliers[e.supplier] for e in entries]
            for s in suppliers:
                regions[s.region or "inconnue"] += 1
                segments.update(s.segments or ["aucun"])
                sizes[s.size or "inconnue"] += 1
            ministries.append(
                {
                    "buyer_id": buyer_id,
                    "buyer_name": buyer_name,
                    "needs": n_needs,
                    "startups": len(suppliers),
                    "sme": sum(s.is_sme for s in suppliers),
                }
            )
        return {
            "k": k,
            "by_region": dict(regions.most_common()),
            "by_segment": dict(segments.most_common()),
            "by_size": dict(sizes.most_common()),
            "by_ministry": ministries,
        }


@dataclass
class CrossShortlists:
    """Every buyer's balanced shortlist, and the exposure of the lists before and after balancing."""

    lists: dict[str, tuple[list[Need], list[ShortlistEntry]]]
    before: Any  # exposure.ExposureStats of the unbalanced top-k lists
    after: Any
