"""Explanations a buyer can read: why a supplier matched a need, in French."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from matcher.data.cpv import CpvVocabulary, agreement
from matcher.data.schema import SEGMENT_LABELS_FR
from matcher.data.text import same_region, sentences, stem, written_words
from matcher.ranking.corpus import Corpus, buyer_department
from matcher.ranking.rank import Match, Query

CPV_DEPTH_FR = {2: "même division CPV", 3: "même groupe CPV", 4: "même classe CPV"}


@dataclass
class EvidenceSnippet:
    """A piece of the supplier's own text (description sentence or past contract) that matched."""

    kind: str  # "description" | "reference"
    text: str
    similarity: float
    terms: list[str] = field(default_factory=list)
    buyer_name: str = ""
    date: str | None = None
    cpv: str | None = None


@dataclass
class Explanation:
    evidence: list[EvidenceSnippet]
    shared_terms: list[str]
    cpv: dict | None
    segment: str | None
    reasons: list[str]


@lru_cache(maxsize=2048)
def _stems(text: str) -> dict[str, str]:
    """stem → the first word of the text that has it (to show the buyer's own words).

    Cached (a query is explained once per result, evidence sentences recur): read it, never change it.
    """
    out: dict[str, str] = {}
    for folded, written in written_words(text):
        if folded.isdigit():
            continue
        out.setdefault(stem(folded), written)
    return out


def _best_sentence(text: str, query_stems: set[str]) -> tuple[str, list[str]]:
    best, best_terms = text, []
    best_score = -1
    for sentence in sentences(text):
        terms = [w for s, w in _stems(sentence).items() if s in query_stems]
        if len(terms) > best_score:
            best, best_terms, best_score = sentence, terms, len(terms)
    return best, best_terms


def explain(match: Match, query: Query, corpus: Corpus, cpv_vocab: CpvVocabulary) -> Explanation:
    """Evidence snippets, shared terms, CPV / segment agreement and French reasons for a match.

    The evidence's similarity is the one the ranking computed (``match.evidence_similarity``).
    """
    query_words = _stems(query.text)
    qstems = set(query_words)
    snippets: list[EvidenceSnippet] = []
    shared: dict[str, str] = {}
    for row, sim in zip(match.evidence_rows[:3], match.evidence_similarity):
        ev = corpus.evidence[row]
        if ev.kind == "description":
            text, terms = _best_sentence(ev.text, qstems)
        else:
            text = ev.text
            terms = [w for s, w in _stems(text).items() if s in qstems]
        for t in terms:
            shared.setdefault(stem(t), query_words.get(stem(t), t))
        if snippets and sim < snippets[0].similarity - 0.15 and not terms:
            continue
        snippets.append(EvidenceSnippet(ev.kind, text, round(sim, 4), terms, ev.buyer_name, ev.date, ev.cpv))
    supplier = corpus.suppliers[match.supplier]
    facts = corpus.facts[match.supplier]
    reasons: list[str] = []
    cpv_info = None
    if query.cpv and facts.codes:
        best = max(((agreement(a, b), a, b) for a in query.cpv for b in sorted(facts.codes)), default=(0, "", ""))
        depth, need_code, supplier_code = best
        if depth >= 2:
            level = "même code CPV" if need_code == supplier_code else CPV_DEPTH_FR.get(depth, "même catégorie CPV")
            cpv_info = {
                "need": cpv_vocab.describe(need_code),
                "supplier": cpv_vocab.describe(supplier_code),
                "depth": depth,
                "level": level,
            }
            reasons.append(f"CPV : {level} ({cpv_vocab.describe(supplier_code)})")
    segment = None
    if query.segment and query.segment in supplier.segments:
        segment = query.segment
        reasons.append(f"Segment d'achat commun : {SEGMENT_LABELS_FR.get(segment, segment)}")
    if shared:
        reasons.append("Termes communs : " + ", ".join(list(shared.values())[:8]))
    if snippets:
        top = snippets[0]
        source = "description" if top.kind == "description" else "marché passé"
        reasons.append(f"Preuve la plus proche ({source}) : « {top.text[:160]} »")
    if query.buyer_id and query.buyer_id in facts.buyers:
        reasons.append("A déjà été titulaire d'un marché de cet acheteur")
    dept = buyer_department(query.buyer_id)
    if dept and dept in facts.departments:
        reasons.append(f"A déjà travaillé pour des acheteurs publics du département {dept}")
    if same_region(query.region, supplier.region):
        reasons.append(f"Même région : {supplier.region}")
    return Explanation(snippets, list(shared.values()), cpv_info, segment, reasons)
