"""Hubness (CSLS) of evidence rows, and the regime that picks a query's scorer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matcher.ranking.hubness import HubnessTable, hubness
from matcher.ranking.regime import RegimeScorer, regime_of, scorer_for
from matcher.settings import Settings


def _unit(rows: list[list[float]]) -> np.ndarray:
    m = np.asarray(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_a_hub_near_everything_scores_highest_and_own_rows_do_not_count() -> None:
    # row 0 sits between the three axes (a hub); rows 1-3 are the axes; row 4 duplicates row 1 for the same supplier
    vectors = _unit([[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]])
    owners = np.array([0, 1, 2, 3, 1])
    r = hubness(vectors, owners, k=2)
    assert int(np.argmax(r)) == 0
    # row 1's nearest foreign rows are the hub (0.577) and an axis (0): its own duplicate (cos 1) is not one
    assert r[1] == pytest.approx((1 / np.sqrt(3) + 0.0) / 2, abs=1e-6)
    only = hubness(vectors, owners, k=2, among=np.array([3, 0]))
    np.testing.assert_allclose(only, r[[3, 0]], rtol=1e-6)


def test_few_foreign_rows_average_what_there_is() -> None:
    vectors = _unit([[1, 0], [0.6, 0.8], [1, 0]])
    assert hubness(vectors, np.array([0, 1, 0]), k=10).tolist() == pytest.approx([0.6, 0.6, 0.6])
    assert hubness(vectors[:1], np.array([0]), k=10).tolist() == [0.0]  # alone: no neighbour
    assert hubness(np.zeros((0, 2), np.float32), np.zeros(0, np.int64)).shape == (0,)


def test_table_reuses_the_rows_it_knows(monkeypatch: pytest.MonkeyPatch) -> None:
    from matcher.ranking import hubness as module

    monkeypatch.setattr(module, "REFRESH_GROWTH", 0.5)  # three rows growing to four: within the reuse band
    vectors = _unit([[1, 1, 1], [1, 0, 0], [0, 1, 0]])
    owners = np.array([0, 1, 2])
    first = HubnessTable.build(np.array([10, 11, 12]), lambda rows: vectors[rows], owners, k=1)
    # a new row joins: only it is computed; the known keys keep their (now slightly stale) values
    grown = _unit([[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    read: list[int] = []

    def vectors_of(rows: np.ndarray) -> np.ndarray:
        read.extend(rows.tolist())
        return grown[rows]

    second = HubnessTable.build(np.array([10, 11, 12, 13]), vectors_of, np.array([0, 1, 2, 3]), previous=first, k=1)
    np.testing.assert_array_equal(second.values[:3], first.values)
    assert second.values[3] == pytest.approx(1 / np.sqrt(3), abs=1e-6)
    before = len(read)
    unchanged = HubnessTable.build(second.keys, vectors_of, np.array([0, 1, 2, 3]), previous=second, k=1)
    assert unchanged.values.tolist() == second.values.tolist()
    assert len(read) == before  # no vector read again when every key is known


def test_a_catalogue_grown_past_the_band_is_computed_again(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(30, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    owners = np.arange(30)
    small = HubnessTable.build(np.arange(20), lambda rows: vectors[rows], owners[:20])
    assert small.basis == 20
    near = HubnessTable.build(np.arange(22), lambda rows: vectors[rows], owners[:22], previous=small)  # +10 %: reused
    np.testing.assert_array_equal(near.values[:20], small.values)
    assert near.basis == 20
    grown = HubnessTable.build(np.arange(30), lambda rows: vectors[rows], owners, previous=near)  # +50 %: all again
    np.testing.assert_allclose(grown.values, hubness(vectors, owners), rtol=1e-6)
    assert grown.basis == 30
    again = HubnessTable.load(grown.save(tmp_path).parent)
    assert again is not None and again.basis == 30
    np.testing.assert_array_equal(again.keys, grown.keys)
    np.testing.assert_array_equal(again.values, grown.values)
    assert HubnessTable.load(tmp_path / "nowhere") is None


def test_a_start_on_a_saved_index_version_computes_no_hubness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matcher.app import Engine
    from matcher.ranking import hubness as module

    settings = Settings(data_dir=tmp_path / "data", encoder="hashing", reranker="none")
    first = Engine.open(settings)
    folder = settings.index_dir / "hashing" / first.index_version
    assert (folder / module.HUBNESS_FILE).is_file()  # published with the version
    computed: list[int] = []
    real = module._against
    monkeypatch.setattr(module, "_against", lambda v, *rest: computed.append(len(v)) or real(v, *rest))
    second = Engine.open(settings)
    assert second.index_version == first.index_version and computed == []
    np.testing.assert_array_equal(second.ranker.hubness.values, first.ranker.hubness.values)
    np.testing.assert_array_equal(second.ranker.hubness.keys, first.ranker.hubness.keys)


def test_large_catalogues_are_estimated_against_a_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    from matcher.ranking import hubness as module

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(400, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    owners = np.arange(400)
    exact = hubness(vectors, owners)
    monkeypatch.setattr(module, "MAX_EXACT_ROWS", 100)
    monkeypatch.setattr(module, "SAMPLE_ROWS", 200)
    estimate = HubnessTable.build(np.arange(400), lambda rows: vectors[rows], owners).values
    assert np.corrcoef(exact, estimate)[0, 1] > 0.5  # the sample keeps the order of hubs, roughly
    assert (estimate <= exact + 1e-6).all()  # fewer candidates: neighbours no closer than the exact ones


def test_regime_follows_what_the_need_carries() -> None:
    award, text = object(), object()
    both = RegimeScorer(award, text)
    assert regime_of(["72000000"]) == "award" and regime_of([]) == "text"
    assert scorer_for(both, ["72000000"]) is award and scorer_for(both, []) is text
    assert scorer_for(award, []) is award  # one estimator scores every need
    assert scorer_for(None, []) is None  # the hand-set weights
    assert RegimeScorer(award).for_regime("text") is None
    with pytest.raises(ValueError, match="regime 'cpv' is not one of award, text"):
        both.for_regime("cpv")
