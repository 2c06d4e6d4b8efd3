"""``HNSWIndex``: a graph over the float32 vectors, approximate search; the vectors are still stored
exactly. A filtered search scans the allowed rows exactly when that is cheaper than a graph search
widened for the filter (``policy.filtered_plan``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from matcher.index.kinds.base import FaissIndex
from matcher.index.policy import (
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_FILTERED_MAX,
    HNSW_M,
    hnsw_ef_search,
)


class HNSWIndex(FaissIndex):
    """A graph over the exact float32 vectors (``IndexHNSWFlat``, inner product)."""

    kind = "hnsw"
    faiss_class = "IndexHNSWFlat"

    def _new_index(self, dim: int, vectors: np.ndarray | None) -> Any:
        index = self._faiss.IndexHNSWFlat(dim, HNSW_M, self._faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        return index

    def _configure(self) -> None:
        super()._configure()
        self.index.hnsw.efSearch = hnsw_ef_search(len(self))

    def _params(self, sel: Any = None, share: float = 1.0) -> Any:
        ef = hnsw_ef_search(len(self))
        extra = {} if sel is None else {"sel": sel}
        return self._faiss.SearchParametersHNSW(efSearch=min(max(ef, HNSW_EF_FILTERED_MAX), math.ceil(ef / share)), **extra)

    def _storage(self) -> Any:
        return self._faiss.downcast_index(self.index.storage)
