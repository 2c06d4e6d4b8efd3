"""``FlatIndex``: exact search, a full scan per query, while its single-query latency stays within
the policy's budget (``matcher.index.policy``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from matcher.index.kinds.base import FaissIndex


class FlatIndex(FaissIndex):
    """Exact search: ``IndexFlatIP``; a filtered search skips the other rows in its own scan."""

    kind = "flat"
    faiss_class = "IndexFlat"

    def _new_index(self, dim: int, vectors: np.ndarray | None) -> Any:
        return self._faiss.IndexFlatIP(dim)

    def _storage(self) -> Any:
        return self.index

    def _filtered(self, queries: np.ndarray, k: int, mask: np.ndarray, n_allowed: int) -> tuple[np.ndarray, np.ndarray]:
        return self._faiss_search(queries, k, self._selector(mask))
