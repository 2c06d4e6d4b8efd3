"""Hybrid ranking of suppliers for a need: dense + BM25 candidates, fused with catalogue facts.

Flow for one query: the dense index (one row per evidence text) and BM25 (one document per
supplier) each propose candidates among the suppliers that pass the filters; suppliers that
share the need's CPV class or already served its buyer join them. Every candidate gets
features (best evidence similarity, BM25, CPV agreement depth, same buyer, same
département, segment and region agreement) and a weighted score; one result per supplier,
with the evidence that matched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from embeddings import Encoder

from .corpus import Corpus, buyer_department
from .cpv import agreement
from .index import FaissIndex, NumpyIndex
from .lexical import BM25
from .schema import Need
from .text import fold, tokens


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

    @classmethod
    def from_need(cls, need: Need) -> Query:
        return cls(need.text, list(need.cpv), need.buyer_id, need.segment, need.region, need.amount, need.need_id)


@dataclass
class Filters:
    """Hard constraints on suppliers: any of ``segments``, any of ``regions``, all ``tags``."""

    segments: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.segments or self.regions or self.tags)


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
    evidence_rows: list[int]
    rank: int = 0


FEATURES = ("dense", "lexical", "cpv", "same_buyer", "department", "segment", "region", "activity")


class Ranker:
    """Ranks the suppliers of a ``Corpus`` for queries (the search engine of the matcher)."""

    def __init__(self, corpus: Corpus, encoder: Encoder, index: FaissIndex | NumpyIndex, config: RankingConfig | None = None) -> None:
        if len(index) != len(corpus.evidence):
            raise ValueError(f"index has {len(index)} rows, the corpus {len(corpus.evidence)} evidence texts: rebuild the index")
        self.corpus = corpus
        self.encoder = encoder
        self.index = index
        self.config = config or RankingConfig()
        self.bm25 = BM25(tokens).fit(corpus.documents)
        #: evidence vectors in index order (for per-supplier scoring and explanations)
        self.vectors = index.vectors() if isinstance(index, FaissIndex) else index.vectors
        self._codes = [sorted(f.codes) for f in corpus.facts]
        self._buyer_index: dict[str, set[int]] = {}
        for i, facts in enumerate(corpus.facts):
            for buyer in facts.buyers:
                self._buyer_index.setdefault(buyer, set()).add(i)
        self._division_index: dict[str, set[int]] = {}
        for i, codes in enumerate(self._codes):
            for code in codes:
                self._division_index.setdefault(code[:2], set()).add(i)

    @classmethod
    def build(cls, corpus: Corpus, encoder: Encoder, config: RankingConfig | None = None, progress: bool | None = None) -> Ranker:
        """Encode the corpus evidence and index it in FAISS."""
        vectors = encoder.encode_passages([e.embed_text for e in corpus.evidence], progress=progress)
        index = FaissIndex(vectors) if len(vectors) else FaissIndex(dim=encoder.dim)
        return cls(corpus, encoder, index, config)

    # -- filters --------------------------------------------------------------------------
    def allowed_suppliers(self, filters: Filters | None) -> np.ndarray | None:
        """Rows of the suppliers that pass the filters (``None`` = all)."""
        if not filters:
            return None
        regions = {fold(r) for r in filters.regions}
        keep = []
        for i, s in enumerate(self.corpus.suppliers):
            if filters.segments and not set(filters.segments) & set(s.segments):
                continue
            if regions and fold(s.region) not in regions:
                continue
            if filters.tags and not set(filters.tags) <= set(s.tags):
                continue
            keep.append(i)
        return np.asarray(keep, dtype=np.int64)

    # -- ranking --------------------------------------------------------------------------
    def query_text(self, query: Query) -> str:
        """The text matched against evidence: the need plus the labels of its CPV codes.

        Evidence texts carry the label of their contract's CPV code (see ``Corpus``); the
        need gets the same treatment so that both sides speak the same vocabulary.
        """
        folded = fold(query.text)
        labels = [label for label in dict.fromkeys(self.corpus.cpv.label(c) for c in query.cpv) if label and fold(label) not in folded]
        return f"{query.text} ({'; '.join(labels)})" if labels else query.text

    def query_vectors(self, queries: Sequence[Query], progress: bool | None = None) -> np.ndarray:
        """Dense vectors of the queries' matching texts, encoded in one batched pass."""
        return self.encoder.encode_queries([self.query_text(q) for q in queries], progress=progress)

    def rank(self, query: Query, k: int = 10, filters: Filters | None = None, qvec: np.ndarray | None = None) -> list[Match]:
        """The ``k`` best suppliers for one query (fewer only if fewer pass the filters).

        ``qvec``: the query's vector when the caller already has it (``query_vectors``).
        """
        if qvec is None:
            qvec = self.query_vectors([query], progress=False)[0]
        return self._rank(query, qvec, k, filters)

    def rank_many(self, queries: Sequence[Query], k: int = 10, filters: Filters | None = None, progress: bool | None = None) -> list[list[Match]]:
        """Rankings for many queries, with their texts encoded in one batched pass."""
        qvecs = self.query_vectors(queries, progress=progress)
        return [self._rank(q, v, k, filters) for q, v in zip(queries, qvecs)]

    def _rank(self, query: Query, qvec: np.ndarray, k: int, filters: Filters | None) -> list[Match]:
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        allowed = self.allowed_suppliers(filters)
        if allowed is not None and len(allowed) == 0:
            return []
        cfg = self.config
        candidates: set[int] = set()
        candidates.update(self._dense_candidates(qvec, max(cfg.dense_candidates, k), allowed))
        text = self.query_text(query)
        lexical_ids, _ = self.bm25.top(text, max(cfg.lexical_candidates, k), allowed)
        candidates.update(int(i) for i in lexical_ids)
        candidates.update(self._fact_candidates(query, allowed))
        if len(candidates) < k:  # never return fewer than k when k suppliers pass the filters
            pool = allowed if allowed is not None else np.arange(len(self.corpus))
            candidates.update(int(i) for i in pool[: k * 4])
        cand = np.asarray(sorted(candidates), dtype=np.int64)
        features, best_rows = self._features(query, text, qvec, cand)
        score = self._score(features)
        order = np.lexsort((cand, -score))[:k]
        matches = []
        for rank, j in enumerate(order, start=1):
            feats = {name: float(features[name][j]) for name in FEATURES}
            matches.append(Match(int(cand[j]), float(score[j]), feats, best_rows[j], rank))
        return matches

    def _dense_candidates(self, qvec: np.ndarray, n: int, allowed: np.ndarray | None) -> set[int]:
        if len(self.index) == 0:
            return set()
        rows_allowed = None
        if allowed is not None:
            rows_allowed = np.concatenate([self.corpus.supplier_rows[i] for i in allowed] or [np.zeros(0, np.int64)])
            if len(rows_allowed) == 0:
                return set()
        total = len(self.index) if rows_allowed is None else len(rows_allowed)
        depth = min(n * 2, total)
        while True:
            _, ids = self.index.search(qvec[None, :], depth, rows_allowed)
            found = {int(self.corpus.evidence_supplier[r]) for r in ids[0] if r >= 0}
            if len(found) >= n or depth >= total:
                return found
            depth = min(depth * 2, total)

    def _fact_candidates(self, query: Query, allowed: np.ndarray | None) -> set[int]:
        found: set[int] = set(self._buyer_index.get(query.buyer_id, set())) if query.buyer_id else set()
        if query.cpv:
            pool: set[int] = set()
            for code in query.cpv:
                pool |= self._division_index.get(code[:2], set())
            depth = {i: self._cpv_depth(query.cpv, i) for i in pool}
            best = sorted((i for i in pool if depth[i] >= 3), key=lambda i: (-depth[i], i))
            found.update(best[: self.config.fact_candidates])
        if allowed is not None:
            found &= set(int(i) for i in allowed)
        return found

    def _cpv_depth(self, need_codes: list[str], supplier: int) -> int:
        return max((agreement(a, b) for a in need_codes for b in self._codes[supplier]), default=0)

    def _features(self, query: Query, text: str, qvec: np.ndarray, cand: np.ndarray) -> tuple[dict[str, np.ndarray], list[list[int]]]:
        n = len(cand)
        dense = np.zeros(n, np.float32)
        best_rows: list[list[int]] = []
        for j, i in enumerate(cand):
            rows = self.corpus.supplier_rows[i]
            if len(rows) == 0:
                best_rows.append([])
                continue
            sims = self.vectors[rows] @ qvec
            order = np.argsort(-sims, kind="stable")
            dense[j] = sims[order[0]]
            best_rows.append([int(rows[o]) for o in order[:3]])
        lexical = self.bm25.scores(text)[cand]
        dept = buyer_department(query.buyer_id)
        region = fold(query.region)
        cpv = np.zeros(n, np.float32)
        same_buyer = np.zeros(n, np.float32)
        department = np.zeros(n, np.float32)
        segment = np.zeros(n, np.float32)
        region_match = np.zeros(n, np.float32)
        activity = np.zeros(n, np.float32)
        for j, i in enumerate(cand):
            facts = self.corpus.facts[i]
            supplier = self.corpus.suppliers[i]
            if query.cpv:
                cpv[j] = min(self._cpv_depth(query.cpv, i), 5) / 5.0
            same_buyer[j] = float(bool(query.buyer_id) and query.buyer_id in facts.buyers)
            department[j] = float(dept is not None and dept in facts.departments)
            segment[j] = float(bool(query.segment) and query.segment in supplier.segments)
            region_match[j] = float(bool(region) and fold(supplier.region) == region)
            activity[j] = math.log1p(facts.n_references) / math.log1p(50)
        return (
            {
                "dense": dense,
                "lexical": lexical,
                "cpv": cpv,
                "same_buyer": same_buyer,
                "department": department,
                "segment": segment,
                "region": region_match,
                "activity": np.minimum(activity, 1.0),
            },
            best_rows,
        )

    def _score(self, f: dict[str, np.ndarray]) -> np.ndarray:
        cfg = self.config
        return (
            cfg.w_dense * _minmax(f["dense"])
            + cfg.w_lexical * _scaled(f["lexical"])
            + cfg.w_cpv * f["cpv"]
            + cfg.w_same_buyer * f["same_buyer"]
            + cfg.w_department * f["department"]
            + cfg.w_segment * f["segment"]
            + cfg.w_region * f["region"]
            + cfg.w_activity * f["activity"]
        )


def _minmax(x: np.ndarray) -> np.ndarray:
    if len(x) == 0:
        return x
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def _scaled(x: np.ndarray) -> np.ndarray:
    """BM25 scaled by the query's best score (0 stays 0: no shared term)."""
    hi = float(x.max()) if len(x) else 0.0
    return x / hi if hi > 0 else np.zeros_like(x)
