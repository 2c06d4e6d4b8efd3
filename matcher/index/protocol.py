"""``VectorIndex``: what every dense index answers — the FAISS kinds and the NumPy oracle alike."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class VectorIndex(Protocol):
    """Rows of unit float32 vectors searched by inner product.

    ``search(queries, k, allowed)``: the ``k`` best rows per query among the ``allowed`` row ids
    (all when ``None``), as ``(scores, ids)`` of shape (queries, k): scores descending, ``-1``
    ids (and ``-inf`` scores) padding when fewer rows qualify.
    """

    def __len__(self) -> int: ...

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]: ...
