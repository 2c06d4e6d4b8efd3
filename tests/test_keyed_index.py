"""The keyed index: catalogue changes applied in place (appends and tombstones), never a rebuild
unless it pays, with the same answers as an index built from scratch."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings import load_encoder
from matcher.data.schema import Supplier
from matcher.index import policy as index_policy
from matcher.index.keyed import SLOTS, KeyedIndex, evidence_key
from matcher.index.manifest import IndexMismatchError, new_manifest
from matcher.index.oracle import NumpyIndex
from matcher.ranking.corpus import Corpus
from matcher.ranking.rank import Query, Ranker


def _unit(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _table(n: int, dim: int = 32, seed: int = 0) -> dict[int, np.ndarray]:
    """``n`` keyed unit vectors (keys 1000…)."""
    return dict(zip(range(1000, 1000 + n), _unit(n, dim, seed)))


def _encode_from(table: dict[int, np.ndarray], calls: list[int]):
    def encode(keys: np.ndarray) -> np.ndarray:
        calls.extend(keys.tolist())
        return np.stack([table[k] for k in keys.tolist()])

    return encode


def _exact_keys(table: dict[int, np.ndarray], queries: np.ndarray, k: int) -> list[list[int]]:
    keys = np.asarray(list(table))
    _, ids = NumpyIndex(np.stack(list(table.values()))).search(queries, k)
    return [keys[row[row >= 0]].tolist() for row in ids]


def _found_keys(index: KeyedIndex, queries: np.ndarray, k: int) -> list[list[int]]:
    _, slots = index.search(queries, k)
    return [index.keys[row[row >= 0]].tolist() for row in slots]


def test_flat_updates_in_place_answer_like_a_fresh_build() -> None:
    table = _table(300)
    first = KeyedIndex.build(list(table), np.stack(list(table.values())), 32)
    before = _found_keys(first, _unit(5, 32, 9), 10)
    # the catalogue changes: 40 texts removed, 25 new ones
    wanted = {k: v for k, v in table.items() if k % 7 != 0} | {5000 + i: v for i, v in enumerate(_unit(25, 32, 1))}
    calls: list[int] = []
    synced, stats = first.synced(list(wanted), _encode_from(wanted, calls))

    assert sorted(calls) == list(range(5000, 5025))  # only the new texts were asked for
    assert stats.added == 25 and stats.removed == len(table) - sum(k % 7 != 0 for k in table) and stats.rebuilt == ""
    assert synced.n_slots == 325 and len(synced) == len(wanted)  # appended; tombstones keep their slots
    queries = _unit(20, 32, 3)
    assert _found_keys(synced, queries, 10) == _exact_keys(wanted, queries, 10)
    # the live version is untouched (readers keep searching it during the update)
    assert first.n_slots == 300 and len(first) == 300 and _found_keys(first, _unit(5, 32, 9), 10) == before


def test_nothing_changed_returns_the_same_index() -> None:
    table = _table(50)
    index = KeyedIndex.build(list(table), np.stack(list(table.values())), 32)
    calls: list[int] = []
    same, stats = index.synced(list(reversed(list(table))), _encode_from(table, calls))
    assert same is index and calls == [] and (stats.added, stats.removed, stats.kept) == (0, 0, 50)


def test_hnsw_links_new_texts_into_its_graph_and_skips_tombstones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_policy, "FLAT_MAX_FLOATS", 1000 * 32)  # approximate above 1,000 rows
    monkeypatch.setattr(index_policy, "HNSW_FILTER_EXACT_RATIO", 0)  # skip tombstones in the graph search, as at scale
    table = _table(2000, dim=32, seed=4)
    index = KeyedIndex.build(list(table), np.stack(list(table.values())), 32)
    assert index.kind == "hnsw"
    removed = set(list(table)[:300])
    wanted = {k: v for k, v in table.items() if k not in removed} | {9000 + i: v for i, v in enumerate(_unit(100, 32, 5))}
    synced, stats = index.synced(list(wanted), _encode_from(wanted, []))

    assert synced.kind == "hnsw" and stats.rebuilt == "" and synced.n_slots == 2100  # no rebuild
    queries = np.concatenate([_unit(30, 32, 6), np.stack([wanted[9000 + i] for i in range(10)])])
    found, truth = _found_keys(synced, queries, 10), _exact_keys(wanted, queries, 10)
    assert not removed & {k for row in found for k in row}  # a tombstone is never returned
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)])
    assert recall >= 0.95
    assert all(row[0] == 9000 + i for i, row in enumerate(found[30:]))  # a new text finds itself


def test_too_many_tombstones_or_another_kind_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    table = _table(400)
    index = KeyedIndex.build(list(table), np.stack(list(table.values())), 32)
    half = dict(list(table.items())[:200])
    compacted, stats = index.synced(list(half), _encode_from(table, []))
    assert "tombstones" in stats.rebuilt and compacted.n_slots == len(compacted) == 200
    assert _found_keys(compacted, _unit(5, 32, 8), 5) == _exact_keys(half, _unit(5, 32, 8), 5)

    monkeypatch.setattr(index_policy, "FLAT_MAX_FLOATS", 420 * 32)  # exact search up to 420 rows
    bigger = table | {7000 + i: v for i, v in enumerate(_unit(40, 32, 2))}
    grown, stats = index.synced(list(bigger), _encode_from(bigger, []))
    assert grown.kind == "hnsw" and "hnsw" in stats.rebuilt and len(grown) == 440


def test_tombstones_survive_save_and_load(tmp_path) -> None:
    table = _table(100)
    index = KeyedIndex.build(list(table), np.stack(list(table.values())), 32)
    wanted = dict(list(table.items())[10:]) | {8000: _unit(1, 32, 7)[0]}
    synced, _ = index.synced(list(wanted), _encode_from(wanted, []))
    synced.save(tmp_path, new_manifest("e", "1", 32, synced.n_slots, "h"))
    loaded, manifest = KeyedIndex.load(tmp_path)
    assert manifest.live == 91 and manifest.size == 101 and len(loaded) == 91
    queries = _unit(8, 32, 11)
    assert _found_keys(loaded, queries, 10) == _exact_keys(wanted, queries, 10)
    (tmp_path / SLOTS).unlink()
    with pytest.raises(IndexMismatchError, match="slot table"):
        KeyedIndex.load(tmp_path)


def test_keys_must_be_distinct() -> None:
    with pytest.raises(ValueError, match="distinct"):
        KeyedIndex.build([1, 1], _unit(2, 8, 0), 8)
    index = KeyedIndex.build([1, 2], _unit(2, 8, 0), 8)
    with pytest.raises(ValueError, match="distinct"):
        index.synced([3, 3], lambda keys: _unit(len(keys), 8, 1))
    with pytest.raises(KeyError, match="not in the index"):
        index.slots_of([3])


def test_evidence_keys_are_stable_and_tell_suppliers_apart() -> None:
    assert evidence_key("s1", "drones") == evidence_key("s1", "drones")
    assert len({evidence_key("s1", "drones"), evidence_key("s2", "drones"), evidence_key("s1", "drone")}) == 3


def _supplier(i: int, text: str) -> Supplier:
    return Supplier.from_raw({"supplier_id": f"s{i:03d}", "name": f"Société {i}", "description": text})


TOPICS = [
    "drones d'inspection des ponts",
    "logiciel de paie",
    "téléconsultation médicale",
    "capteurs de qualité de l'air",
    "cybersécurité des hôpitaux",
]


def test_a_ranker_on_a_synced_index_ranks_like_one_built_from_scratch() -> None:
    encoder = load_encoder("hashing")
    before = [_supplier(i, f"{TOPICS[i % 5]} et services associés, offre {i}") for i in range(60)]
    ranker = Ranker.build(Corpus(before), encoder)
    after = [s for s in before if s.supplier_id not in {"s003", "s010"}]
    assert after[5].supplier_id == "s006"
    after[5] = _supplier(6, "maintenance prédictive des trains par capteurs")  # an edited description
    after += [_supplier(100, "drones de surveillance des ouvrages d'art")]
    corpus = Corpus(after)
    keys, texts = corpus.index_texts()
    text_of = dict(zip(keys.tolist(), texts))
    synced, stats = ranker.index.synced(keys, lambda new: encoder.encode_passages([text_of[k] for k in new.tolist()]))
    assert (stats.added, stats.removed, stats.rebuilt) == (2, 3, "")
    live, fresh = Ranker(corpus, encoder, synced), Ranker.build(corpus, encoder)
    for text in ["drones pour les ponts", "capteurs sur les trains", "paie des agents"]:
        a, b = live.rank(Query(text), 10), fresh.rank(Query(text), 10)
        assert [(m.supplier, m.evidence_rows) for m in a] == [(m.supplier, m.evidence_rows) for m in b]
        np.testing.assert_allclose([m.score for m in a], [m.score for m in b], atol=1e-5)
        np.testing.assert_allclose(a[0].evidence_similarity, b[0].evidence_similarity, atol=1e-5)


def test_ivfpq_under_a_memory_budget_encodes_new_texts_with_its_quantisers() -> None:
    table = _table(2100, dim=32, seed=12)
    budget = 200_000  # flat (269 kB) and HNSW (840 kB) do not fit; IVF-PQ (140 kB) does
    index = KeyedIndex.build(list(table)[:2000], np.stack(list(table.values())[:2000]), 32, memory_budget=budget)
    wanted = dict(list(table.items())[100:])
    synced, stats = index.synced(list(wanted), _encode_from(wanted, []), memory_budget=budget)
    assert index.kind == synced.kind == "ivfpq" and stats.rebuilt == "" and (stats.added, stats.removed) == (100, 100)
    new_keys = list(wanted)[-5:]
    found = _found_keys(synced, np.stack([wanted[k] for k in new_keys]), 3)
    assert [row[0] for row in found] == new_keys  # appended texts are found
    assert not {k for row in _found_keys(synced, _unit(20, 32, 13), 10) for k in row} & set(list(table)[:100])  # tombstones skipped
