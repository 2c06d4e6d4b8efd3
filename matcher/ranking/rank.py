"""Hybrid ranking of suppliers for a need: dense + BM25 candidates, fused with catalogue facts.

Flow for one query: the dense index (one row per evidence text) and BM25 (one document per
supplier) each propose candidates among the suppliers that pass the filters; suppliers that
share the need's CPV class or already served its buyer join them. Every candidate gets
features (best evidence similarity, BM25, CPV agreement depth, same buyer, same
département, segment and region agreement) and a weighted score; one result per supplier,
with the evidence that matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from embeddings import Encoder
from matcher.data.schema import Need
from matcher.data.text import fold, region_key, tokens
from matcher.index.keyed import KeyedIndex
from matcher.ranking.corpus import Corpus
from matcher.ranking.features import AWARD_FEATURES, FEATURES, BestRows, SupplierTable, candidate_features
from matcher.ranking.hubness import HubnessTable
from matcher.ranking.lexical import BM25
from matcher.ranking.predicted_cpv import PredictedCpv, predicted_cpv
from matcher.ranking.regime import RegimeScorer, scorer_for


@dataclass
class Query:
    """What is matched: a need's text and, when known, its structured facts."""

    text: str
    cpv: list[str] = field(default_factory=list)
    buyer_id: str = ""
    segment: str = ""
    region: str = ""
    amount: float | None = None
    need_id: str = ""
    date: str | None = None

    @classmethod
    def from_need(cls, need: Need) -> Query:
        return cls(need.text, list(need.cpv), need.buyer_id, need.segment, need.region, need.amount, need.need_id, need.date)


@dataclass
class Filters:
    """Hard constraints on suppliers: any of ``segments``, any of ``regions``, all ``tags``, any of ``sizes``
    (``pme`` keeps every SME, micro-enterprises included: what the SME badge says, ``Supplier.is_sme``)."""

    segments: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    sizes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.segments or self.regions or self.tags or self.sizes)


@dataclass
class RankingConfig:
    """Weights of the fused score and sizes of the candidate pools."""

    w_dense: float = 1.0
    w_lexical: float = 1.0
    w_cpv: float = 0.6
    w_same_buyer: float = 0.5
    w_department: float = 0.25
    w_segment: float = 0.1
    w_region: float = 0.05
    w_activity: float = 0.03
    #: a need this long (encoder tokens) or longer is encoded as a document (0: never)
    document_query_tokens: int = 48
    dense_candidates: int = 200
    lexical_candidates: int = 200
    fact_candidates: int = 200

    def as_params(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class Match:
    """One supplier in a ranking, with what the explanation needs."""

    supplier: int
    score: float
    features: dict[str, float]
    evidence_rows: list[int]  # its best evidence rows for the query (up to three), best first
    rank: int = 0
    evidence_similarity: list[float] = field(default_factory=list)  # cosine of each of those rows
    probability: float | None = None  # calibrated probability that it is pertinent (``ranking.confidence``)
    level: str = ""  # "forte", "possible" or "faible" ("" without a calibrator)


def feature_matrix(f: dict[str, np.ndarray], scorer: Any) -> np.ndarray:
    """The columns ``scorer`` reads (its ``feature_names_in_``; the award regime's features when it names none)."""
    names = getattr(scorer, "feature_names_in_", None)
    return np.column_stack([f[str(name)] for name in (AWARD_FEATURES if names is None else names)])


def evidence_hubness(corpus: Corpus, index: KeyedIndex, known: HubnessTable | None = None, slots: np.ndarray | None = None) -> HubnessTable:
    """The hubness of every evidence row of ``corpus`` in ``index`` (rows ``known`` holds keep their
    value: see ``HubnessTable.build``); ``slots``: the rows' slots in the index when already looked up."""
    slots = index.slots_of(corpus.evidence_keys) if slots is None else slots
    return HubnessTable.build(
        corpus.evidence_keys, lambda rows: index.vectors_of(slots[np.asarray(rows, dtype=np.int64)]), corpus.evidence_supplier, known
    )


class Ranker:
    """Ranks the suppliers of a ``Corpus`` for queries (the search engine of the matcher)."""

    def __init__(
        self,
        corpus: Corpus,
        encoder: Encoder,
        index: KeyedIndex,
        config: RankingConfig | None = None,
        reranker: Any = None,
        previous: Ranker | None = None,
        hubness: HubnessTable | None = None,
        cpv_model: Any = None,
    ) -> None:
        """``previous``: a ranker over the corpus this one was derived from (``Corpus(…, reuse=…)``),
        whose lexical index is reused for the unchanged suppliers. ``hubness``: the table saved with
        the index version (``evidence_hubness``), whose rows are not computed again. ``cpv_model``:
        the text → CPV classifier of the ``cpv_predicted`` feature (``None``: the feature stays 0;
        ``previous``'s when not given)."""
        try:
            #: slot of each evidence row in the dense index (rows change with the catalogue, slots do not)
            self.evidence_slots = index.slots_of(corpus.evidence_keys)
        except KeyError as exc:
            raise ValueError(f"the index lacks evidence of this catalogue ({exc.args[0]}): re-index") from None
        #: supplier row of each slot (-1: a tombstone, or a text of another catalogue)
        self.slot_supplier = np.full(index.n_slots, -1, dtype=np.int64)
        self.slot_supplier[self.evidence_slots] = corpus.evidence_supplier
        self.corpus = corpus
        self.encoder = encoder
        self.index = index
        self.config = config or RankingConfig()
        #: a fitted estimator with ``decision_function(features)``, or a ``RegimeScorer`` (one per
        #: regime); ``None`` = the weights of ``config``
        self.reranker = reranker
        self.bm25: BM25
        if previous is not None and previous.corpus is corpus:
            self.bm25 = previous.bm25  # same documents (only the dense index changed)
        elif previous is not None and corpus.derived_from and corpus.derived_from == previous.corpus.version:
            self.bm25 = BM25(tokens).fit(corpus.documents, reuse=(previous.bm25, corpus.previous_rows))
        else:
            self.bm25 = BM25(tokens).fit(corpus.documents)
        #: every supplier's facts as arrays and lookups (candidates and features read them)
        self.table = SupplierTable(corpus)
        #: the hubness of every evidence row (rows ``previous`` knew keep their value)
        self.hubness: HubnessTable = (
            previous.hubness  # same texts (only the reranker or the index copy changed)
            if previous is not None and previous.corpus is corpus and hubness is None
            else evidence_hubness(corpus, index, hubness or (previous.hubness if previous is not None else None), self.evidence_slots)
        )
        if cpv_model is None and previous is not None and previous.predicted_cpv is not None:
            cpv_model = previous.predicted_cpv.model
        #: the suppliers' and needs' CPV divisions predicted from their words (``None`` without a classifier)
        self.predicted_cpv: PredictedCpv | None = predicted_cpv(cpv_model, corpus, previous.predicted_cpv if previous is not None else None)

    @classmethod
    def build(
        cls,
        corpus: Corpus,
        encoder: Encoder,
        config: RankingConfig | None = None,
        progress: bool | None = None,
        reranker: Any = None,
        cpv_model: Any = None,
    ) -> Ranker:
        """Encode the corpus evidence and index it in FAISS."""
        keys, texts = corpus.index_texts()
        vectors = encoder.encode_passages(texts, progress=progress)
        return cls(corpus, encoder, KeyedIndex.build(keys, vectors, encoder.dim), config, reranker, cpv_model=cpv_model)

    def evidence_vectors(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """Dense vectors of evidence ``rows`` (read from the index's storage, not copied whole)."""
        return self.index.vectors_of(self.evidence_slots[np.asarray(rows, dtype=np.int64)])

    # -- filters --------------------------------------------------------------------------
    def allowed_suppliers(self, filters: Filters | None) -> np.ndarray | None:
        """Rows of the suppliers that pass the filters (``None`` = all)."""
        if not filters:
            return None
        regions = {region_key(r) for r in filters.regions}
        keep = []
        for i, s in enumerate(self.corpus.suppliers):
            if filters.segments and not set(filters.segments) & set(s.segments):
                continue
            if regions and region_key(s.region) not in regions:
                continue
            if filters.tags and not set(filters.tags) <= set(s.tags):
                continue
            if filters.sizes and not s.fits_sizes(filters.sizes):
                continue
            keep.append(i)
        return np.asarray(keep, dtype=np.int64)

    # -- ranking --------------------------------------------------------------------------
    def query_text(self, query: Query) -> str:
        """The text matched against evidence: the need plus the labels of its CPV codes."""
        return self.query_text_for(query, self.corpus)

    @staticmethod
    def query_text_for(query: Query, corpus: Corpus) -> str:
        """Evidence texts carry the label of their contract's CPV code (see ``Corpus``); the
        need gets the same treatment so that both sides speak the same vocabulary."""
        folded = fold(query.text)
        labels = [label for label in dict.fromkeys(corpus.cpv.label(c) for c in query.cpv) if label and fold(label) not in folded]
        return f"{query.text} ({'; '.join(labels)})" if labels else query.text

    def query_vectors(self, queries: Sequence[Query], progress: bool | None = None, deadline: float | None = None) -> np.ndarray:
        """Dense vectors of the queries' matching texts, encoded in batched passes (each cut to what the
        encoder reads); ``deadline`` bounds the wait for the encoder (``embeddings.EncoderBusy``).

        A need of ``config.document_query_tokens`` tokens or more reads like a description, not a
        search: it is encoded as the suppliers' descriptions are (e5's symmetric mode)."""
        texts = [self.query_text(q) for q in queries]
        limit = self.config.document_query_tokens
        long = np.asarray([limit > 0 and self.encoder.count_tokens(t) >= limit for t in texts], dtype=bool)
        if not long.any() or long.all():
            return self.encoder.encode_queries(texts, progress=progress, deadline=deadline, as_documents=bool(long.any()))
        out = np.zeros((len(texts), self.encoder.dim), dtype=np.float32)
        for flag in (False, True):
            rows = np.flatnonzero(long == flag)
            out[rows] = self.encoder.encode_queries([texts[i] for i in rows], progress=progress, deadline=deadline, as_documents=flag)
        return out

    def classify_queries(self, queries: Sequence[Query]) -> None:
        """Predict the queries' CPV divisions in one batch (kept for their ranking). Call it before
        encoding them: right after an encode the encoder's threads still spin on the cores, and the
        classifier's single-threaded work takes several times longer (measured on /match)."""
        if self.predicted_cpv is not None and queries:
            self.predicted_cpv.needs([self.query_text(q) for q in queries])

    def rank(self, query: Query, k: int = 10, filters: Filters | None = None, qvec: np.ndarray | None = None) -> list[Match]:
        """The ``k`` best suppliers for one query (fewer only if fewer pass the filters).

        ``qvec``: the query's vector when the caller already has it (``query_vectors``).
        """
        if qvec is None:
            qvec = self.query_vectors([query], progress=False)[0]
        return self._rank(query, qvec, k, filters)

    def rank_many(
        self, queries: Sequence[Query], k: int = 10, filters: Filters | None = None, progress: bool | None = None
    ) -> list[list[Match]]:
        """Rankings for many queries, with their texts encoded in one batched pass."""
        self.classify_queries(queries)
        qvecs = self.query_vectors(queries, progress=progress)
        return [self._rank(q, v, k, filters) for q, v in zip(queries, qvecs)]

    def _rank(self, query: Query, qvec: np.ndarray, k: int, filters: Filters | None) -> list[Match]:
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        allowed = self.allowed_suppliers(filters)
        if allowed is not None and len(allowed) == 0:
            return []
        cand, text = self._candidates(query, qvec, k, filters, allowed)
        if len(cand) == 0:
            return []
        features, best_rows = self._features(query, text, qvec, cand)
        score = self._score(features, scorer_for(self.reranker, query.cpv))
        order = np.lexsort((cand, -score))[:k]
        matches = []
        for rank, j in enumerate(order, start=1):
            feats = {name: float(features[name][j]) for name in FEATURES}
            rows, sims = best_rows[j]
            matches.append(Match(int(cand[j]), float(score[j]), feats, rows, rank, sims))
        if isinstance(self.reranker, RegimeScorer) and self.reranker.confidence is not None:
            self.reranker.confidence.assess(matches, query.cpv)
        return matches

    def _candidates(
        self, query: Query, qvec: np.ndarray, k: int, filters: Filters | None, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, str]:
        """Union of the dense, lexical and fact candidates among the allowed suppliers."""
        if allowed is None:
            allowed = self.allowed_suppliers(filters)
        if allowed is not None and len(allowed) == 0:
            return np.zeros(0, np.int64), ""
        cfg = self.config
        text = self.query_text(query)
        candidates: set[int] = set(self._dense_candidates(qvec, max(cfg.dense_candidates, k), allowed))
        lexical_ids, _ = self.bm25.top(text, max(cfg.lexical_candidates, k), allowed)
        candidates.update(int(i) for i in lexical_ids)
        candidates.update(self._fact_candidates(query, allowed))
        if len(candidates) < k:  # never return fewer than k when k suppliers pass the filters
            pool = allowed if allowed is not None else np.arange(len(self.corpus))
            candidates.update(int(i) for i in pool[: k * 4])
        return np.asarray(sorted(candidates), dtype=np.int64), text

    def _dense_candidates(self, qvec: np.ndarray, n: int, allowed: np.ndarray | None) -> set[int]:
        if len(self.index) == 0:
            return set()
        slots_allowed = None
        if allowed is not None:
            rows, _ = self.corpus.supplier_rows.rows_of(allowed)
            if len(rows) == 0:
                return set()
            slots_allowed = self.evidence_slots[rows]
        total = len(self.index) if slots_allowed is None else len(slots_allowed)
        depth = min(n * 2, total)
        while True:
            _, ids = self.index.search(qvec[None, :], depth, slots_allowed)
            owners = self.slot_supplier[ids[0][ids[0] >= 0]]
            found = {int(i) for i in owners if i >= 0}
            if len(found) >= n or depth >= total:
                return found
            depth = min(depth * 2, total)

    def _fact_candidates(self, query: Query, allowed: np.ndarray | None) -> set[int]:
        table = self.table
        found: set[int] = set(table.by_buyer.get(query.buyer_id, np.zeros(0, np.int64)).tolist()) if query.buyer_id else set()
        if query.cpv:
            pool: set[int] = set()
            for code in query.cpv:
                pool |= set(table.by_division.get(code[:2], np.zeros(0, np.int64)).tolist())
            depth = {i: table.cpv_depth(query.cpv, i) for i in pool}
            best = sorted((i for i in pool if depth[i] >= 3), key=lambda i: (-depth[i], i))
            found.update(best[: self.config.fact_candidates])
        if allowed is not None:
            found &= set(int(i) for i in allowed)
        return found

    def _features(self, query: Query, text: str, qvec: np.ndarray, cand: np.ndarray) -> tuple[dict[str, np.ndarray], BestRows]:
        """Feature columns of the candidates, and each one's best evidence rows with their cosines."""
        return candidate_features(
            self.table,
            cand,
            self.corpus.supplier_rows.rows_of,
            lambda rows: self.evidence_vectors(rows) @ qvec,
            self.bm25.scores(text),
            self.hubness.values,
            cpv_predicted=None if self.predicted_cpv is None else self.predicted_cpv.agreement(text, cand),
            buyer_id=query.buyer_id,
            cpv=query.cpv,
            segment=query.segment,
            region=query.region,
            date=query.date,
            amount=query.amount,
        )

    def _score(self, f: dict[str, np.ndarray], scorer: Any) -> np.ndarray:
        if scorer is not None:
            return np.asarray(scorer.decision_function(feature_matrix(f, scorer)), dtype=np.float64)
        cfg = self.config
        return (
            cfg.w_dense * f["dense"]
            + cfg.w_lexical * f["lexical"]
            + cfg.w_cpv * f["cpv"]
            + cfg.w_same_buyer * f["same_buyer"]
            + cfg.w_department * f["department"]
            + cfg.w_segment * f["segment"]
            + cfg.w_region * f["region"]
            + cfg.w_activity * f["activity"]
        )

    def candidate_features(
        self, query: Query, qvec: np.ndarray | None = None, filters: Filters | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(candidate supplier rows, feature matrix)`` of a query: what a reranker learns from."""
        if qvec is None:
            qvec = self.query_vectors([query], progress=False)[0]
        cand, text = self._candidates(query, qvec, 1, filters)
        features, _ = self._features(query, text, qvec, cand)
        return cand, np.column_stack([features[name] for name in FEATURES]) if len(cand) else np.zeros((0, len(FEATURES)), np.float32)
