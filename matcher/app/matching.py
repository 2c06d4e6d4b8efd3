"""Matching use cases: a need's explained ranking (free text, a batch, a recorded need) and the
reverse question (the recorded needs a start-up answers best)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from matcher.app.engine import Engine
from matcher.app.errors import BatchTooLarge, NotFoundError, Overloaded
from matcher.data.schema import Need, Supplier
from matcher.data.text import fold
from matcher.learning.models import likely_divisions
from matcher.ranking import confidence
from matcher.ranking.explain import Explanation
from matcher.ranking.rank import Filters, Query


@dataclass
class MatchResult:
    """A ranked supplier with its explanation (what the CLI prints and the API returns)."""

    rank: int
    score: float
    supplier: Supplier
    features: dict[str, float]
    explanation: Explanation
    probability: float | None = None  # calibrated probability that the match is pertinent
    level: str = ""  # "forte", "possible", "faible" ("" without a calibrator)

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
            "probability": self.probability,
            "confidence": self.level or None,
            "features": {k: round(v, 4) for k, v in self.features.items()},
            "explanation": {
                "reasons": self.explanation.reasons,
                "evidence": [vars(e) for e in self.explanation.evidence],
                "shared_terms": self.explanation.shared_terms,
                "cpv": self.explanation.cpv,
                "segment": self.explanation.segment,
            },
        }


#: a CPV division is suggested for a free-text need when the classifier gives it at least this probability
MIN_CPV_PROBABILITY = 0.1


@dataclass
class LikelyCpv:
    """A CPV division a free-text need likely falls in (``matcher train-cpv``'s classifier)."""

    division: str  # "72"
    code: str  # the division as a CPV code: "72000000"
    label: str  # its French label ("" without the CPV labels file)
    probability: float

    def reason(self) -> str:
        label = f" – {self.label}" if self.label else ""
        return f"CPV probable du besoin : {self.division}{label} ({round(100 * self.probability)} %)"


def likely_cpv(engine: Engine, query: Query, k: int = 3) -> list[LikelyCpv]:
    """The likely CPV divisions of a need typed without codes, likeliest first (none when it names
    codes, or when no classifier is installed)."""
    if query.cpv or not query.text.strip():
        return []
    out = []
    for division, p in likely_divisions(engine.settings, query.text, engine.ranker.predicted_cpv)[:k]:
        if p < MIN_CPV_PROBABILITY:
            continue
        code = division.ljust(8, "0")
        out.append(LikelyCpv(division, code, engine.corpus.cpv.label(code), round(p, 4)))
    return out


def match(engine: Engine, query: Query, k: int = 10, filters: Filters | None = None, deadline: float | None = None) -> list[MatchResult]:
    """The ``k`` best suppliers for a query, explained."""
    return match_many(engine, [query], [k], [filters], deadline)[0]


def match_many(
    engine: Engine, queries: list[Query], ks: list[int], filters: list[Filters | None], deadline: float | None = None
) -> list[list[MatchResult]]:
    """Explained rankings for several queries (each with its ``k`` and filters), texts encoded in one batched pass.

    Each text is cut to what the encoder reads. ``deadline`` (``time.monotonic()``): ``EncoderBusy``
    when it passes while waiting for the encoder, ``Overloaded`` (a subclass) between queries.
    ``BatchTooLarge`` when several queries hold more than ``Settings.max_batch_tokens`` tokens.
    """
    ranker = engine.ranker
    if len(queries) > 1:
        encoder = ranker.encoder
        total = sum(encoder.count_tokens(encoder.clip_query(ranker.query_text(q))) for q in queries)
        if total > engine.settings.max_batch_tokens:
            raise BatchTooLarge(
                f"queries : {total} jetons au total, plus que les {engine.settings.max_batch_tokens} qu'un lot peut contenir (scindez-le)"
            )
    # the likely CPV divisions first: right after an encode, the encoder's OpenMP threads still spin
    # on the cores and the classifier's single-threaded work takes several times longer (measured)
    likely = [likely_cpv(engine, q) for q in queries]
    ranker.classify_queries(queries)
    qvecs = ranker.query_vectors(queries, progress=False, deadline=deadline)
    out = []
    for q, v, k, f, divisions in zip(queries, qvecs, ks, filters, likely):
        if deadline is not None and time.monotonic() > deadline:
            raise Overloaded("délai dépassé pendant le classement", retry_after=2.0)
        ranking = [
            MatchResult(m.rank, m.score, engine.corpus.suppliers[m.supplier], m.features, engine.explain(q, m), m.probability, m.level)
            for m in ranker.rank(q, k, f, qvec=v)
        ]
        # the need's likely CPV is a reason of its matches only where they answer it
        for result in ranking if divisions and clear_match(ranking) is not False else []:
            result.explanation.reasons.append(divisions[0].reason())
        out.append(ranking)
    return out


def match_need(
    engine: Engine, need_id: str, k: int = 10, filters: Filters | None = None, deadline: float | None = None
) -> tuple[Need, list[MatchResult]]:
    """A recorded need and its explained ranking; ``NotFoundError`` for an unknown need."""
    need = engine.catalogue.need(need_id)
    if need is None:
        raise NotFoundError("need", need_id)
    return need, match(engine, Query.from_need(need), k, filters, deadline)


def needs_for_supplier(
    engine: Engine, supplier_id: str, k: int = 10, buyer_id: str | None = None, depth: int = 100
) -> list[tuple[Need, MatchResult]]:
    """The reverse question: recorded needs where this supplier ranks best (within ``depth``).

    Ordered by its rank for the need, then by score; ``buyer_id`` keeps one organisation's needs.
    """
    position = engine.corpus.position.get(supplier_id)
    if position is None:
        raise NotFoundError("supplier", supplier_id)
    needs = engine.catalogue.needs(buyer_id)
    queries = [Query.from_need(n) for n in needs]
    qvecs = engine.ranker.query_vectors(queries, progress=False)
    found = []
    for i, (query, qvec) in enumerate(zip(queries, qvecs)):
        for m in engine.ranker.rank(query, depth, qvec=qvec):
            if m.supplier == position:
                found.append((m.rank, -m.score, i, m))
                break
    found.sort(key=lambda t: t[:3])
    supplier = engine.corpus.suppliers[position]
    return [
        (needs[i], MatchResult(m.rank, m.score, supplier, m.features, engine.explain(queries[i], m), m.probability, m.level))
        for _, _, i, m in found[:k]
    ]


def clear_match(results: list[MatchResult]) -> bool | None:
    """Whether a ranking holds a clear (``forte``) match; ``None`` when no calibrator rated it."""
    return confidence.clear_match([r.level for r in results])


#: the most suppliers a name search returns, and the shortest and longest text it takes
MAX_SUPPLIER_SEARCH = 50
MIN_SUPPLIER_SEARCH_CHARS = 2
MAX_SUPPLIER_SEARCH_CHARS = 200


def find_suppliers(engine: Engine, text: str, limit: int = 10) -> list[Supplier]:
    """Catalogue suppliers by name, id or SIREN, accents and case aside: an exact id or SIREN first,
    then names that start with ``text``, then names with a word that does, then names that hold it
    (each group in name order). For people who know a start-up by its name, not by its id."""
    wanted = " ".join(fold(text).split())
    if len(wanted) < MIN_SUPPLIER_SEARCH_CHARS:
        return []
    corpus = engine.corpus
    names = corpus.folded_names
    groups: tuple[list[int], ...] = ([], [], [], [])
    for row, (supplier, name) in enumerate(zip(corpus.suppliers, names)):
        if wanted in (supplier.supplier_id.lower(), supplier.siren):
            groups[0].append(row)
        elif name.startswith(wanted):
            groups[1].append(row)
        elif f" {wanted}" in f" {name}":
            groups[2].append(row)
        elif wanted in name:
            groups[3].append(row)
    found: list[Supplier] = []
    for group in groups:
        found += [corpus.suppliers[row] for row in sorted(group, key=lambda r: (names[r], r))[: limit - len(found)]]
        if len(found) >= limit:
            break
    return found
