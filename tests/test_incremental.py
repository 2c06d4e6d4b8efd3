"""A catalogue change is applied incrementally at every stage (catalogue read, corpus, lexical
index, dense index), with the same result as processing the whole catalogue again."""

from __future__ import annotations

import copy

import numpy as np

from matcher.app import Engine
from matcher.app.matching import match
from matcher.data.catalogue import Catalogue
from matcher.data.schema import Reference, Supplier
from matcher.data.text import tokens
from matcher.ranking.corpus import Corpus
from matcher.ranking.lexical import BM25
from matcher.ranking.rank import Query
from matcher.settings import Settings

TOPICS = ["drones d'inspection des ponts", "logiciel de paie", "téléconsultation médicale", "capteurs de qualité de l'air", "cybersécurité"]


def _supplier(i: int, text: str, refs: int = 1) -> Supplier:
    return Supplier.from_raw(
        {
            "supplier_id": f"s{i:03d}",
            "name": f"Société {i}",
            "description": text,
            "references": [
                {"objet": f"Marché {i}-{r} : {text}", "cpv": "72000000", "buyer_id": f"21{i % 90 + 10:02d}00012"} for r in range(refs)
            ],
        }
    )


def _catalogue(n: int = 40) -> list[Supplier]:
    return [_supplier(i, f"{TOPICS[i % 5]}, offre {i}", refs=i % 3) for i in range(n)]


def _same_corpus(a: Corpus, b: Corpus) -> None:
    assert [s.supplier_id for s in a.suppliers] == [s.supplier_id for s in b.suppliers]
    assert [(e.supplier, e.kind, e.embed_text) for e in a.evidence] == [(e.supplier, e.kind, e.embed_text) for e in b.evidence]
    assert a.documents == b.documents and a.facts == b.facts
    np.testing.assert_array_equal(a.evidence_keys, b.evidence_keys)
    np.testing.assert_array_equal(a.evidence_supplier, b.evidence_supplier)
    assert all(np.array_equal(a.supplier_rows[i], b.supplier_rows[i]) for i in range(len(a)))
    assert a.fingerprint() == b.fingerprint()


def test_an_updated_corpus_equals_one_built_from_scratch() -> None:
    before = Corpus(_catalogue())
    changed = [_supplier(5, "maintenance prédictive des trains", refs=2), _supplier(100, "drones de surveillance"), _supplier(0, "a")]
    after = before.updated(changed, removed=["s010", "s011"])
    fresh = Corpus([s for s in _catalogue() if s.supplier_id not in {"s005", "s010", "s011", "s000"}] + changed)
    _same_corpus(after, fresh)
    # only the three changed suppliers were processed again; the others point at their earlier row
    assert after.derived_from == before.version
    assert sorted(s.supplier_id for s, row in zip(after.suppliers, after.previous_rows) if row < 0) == ["s000", "s005", "s100"]
    assert all(before.suppliers[row] is s for s, row in zip(after.suppliers, after.previous_rows) if row >= 0)


def test_a_corpus_refuses_a_supplier_twice() -> None:
    import pytest

    with pytest.raises(ValueError, match="s001"):
        Corpus([_supplier(1, "a"), _supplier(1, "b")])


def test_bm25_reusing_earlier_term_counts_scores_like_a_fresh_fit() -> None:
    before = Corpus(_catalogue())
    earlier = BM25(tokens).fit(before.documents)
    after = before.updated([_supplier(7, "capteurs connectés pour les ponts"), _supplier(200, "paie et ressources humaines")], ["s003"])
    reused = BM25(tokens).fit(after.documents, reuse=(earlier, after.previous_rows))
    fresh = BM25(tokens).fit(after.documents)
    for query in ["capteurs pour les ponts", "logiciel de paie", "téléconsultation", "mot inconnu"]:
        np.testing.assert_allclose(reused.scores(query), fresh.scores(query), rtol=1e-6, atol=1e-7)


def test_catalogue_changes_name_what_was_written_since_a_snapshot(tmp_path) -> None:
    catalogue = Catalogue(f"sqlite:///{tmp_path / 'c.sqlite'}")
    catalogue.upsert_suppliers(_catalogue(5))
    suppliers, stamps = catalogue.supplier_snapshot()
    assert len(suppliers) == len(stamps) == 5
    assert catalogue.supplier_changes(stamps)[:2] == ([], [])
    edited = Supplier.from_raw({"supplier_id": "s001", "name": "Société 1", "description": "nouveau texte"})
    catalogue.delete_supplier("s001")
    catalogue.upsert_suppliers([edited, _supplier(9, "nouvelle")])
    catalogue.delete_supplier("s004")
    changed, removed, new_stamps = catalogue.supplier_changes(stamps)
    assert sorted(s.supplier_id for s in changed) == ["s001", "s009"] and removed == ["s004"]
    assert next(s for s in changed if s.supplier_id == "s001").description == "nouveau texte"
    assert catalogue.supplier_changes(new_stamps)[:2] == ([], [])


def test_engine_refresh_reads_only_what_changed_and_ranks_like_a_fresh_open(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path / "data", encoder="hashing", reranker="none")
    engine = Engine.open(settings)
    n = len(engine.corpus)
    engine.catalogue.upsert_suppliers(
        [Supplier.from_raw({"supplier_id": "zz-new", "name": "Drones Z", "description": "Drones d'inspection des ponts et viaducs."})]
    )
    first = copy.deepcopy(engine.corpus.suppliers[0])
    engine.catalogue.delete_supplier(first.supplier_id)
    first.references.append(Reference("Inspection d'ouvrages d'art par drone", "71300000", "210100012", "Ville", "2024-01-01", 5e4))
    engine.catalogue.upsert_suppliers([first])  # re-added with one more reference

    refreshed = engine.refresh()
    assert refreshed.last_update["suppliers"] == {"read": 2, "removed": 0}
    assert refreshed.last_update["index"]["rebuilt"] == "" and refreshed.last_update["index"]["added"] >= 2
    assert len(refreshed.corpus) == n + 1 and len(engine.corpus) == n  # the serving engine is untouched
    reopened = Engine.open(settings)
    assert reopened.index_version == refreshed.index_version and reopened.last_update["index"]["added"] == 0
    for text in ["drones pour inspecter les ponts", "téléconsultation", "inspection d'ouvrages d'art"]:
        a, b = match(refreshed, Query(text), 10), match(reopened, Query(text), 10)
        assert [r.supplier.supplier_id for r in a] == [r.supplier.supplier_id for r in b]
        np.testing.assert_allclose([r.score for r in a], [r.score for r in b], rtol=1e-5)
    again = refreshed.refresh()
    assert again.ranker is refreshed.ranker and again.last_update["suppliers"] == {"read": 0, "removed": 0}  # nothing to do
