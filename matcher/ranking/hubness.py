"""Hubness of evidence vectors: how close each text sits to everything else.

In a dense space some texts ("hubs": generic descriptions, boilerplate objects) are near to
most queries and crowd the top of every ranking. Cross-domain similarity local scaling (CSLS,
Conneau et al. 2018) corrects for it: each evidence row gets ``r`` = the mean cosine to its
``k`` nearest evidence rows of *other* suppliers, and the query–row score becomes
``cos − r / 2`` (rank-equivalent to CSLS's ``2 cos − r_row − r_query`` for one query).

``hubness`` computes ``r`` exactly, block by block. ``HubnessTable`` keeps ``r`` by evidence key
so that a live update only computes the rows it adds (the rows already there keep their value
until the ranker is built afresh); past ``MAX_EXACT_ROWS`` rows it estimates ``r`` against a fixed
sample of rows, so that its cost grows linearly with the catalogue (``n × SAMPLE_ROWS`` products).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: neighbours averaged (CSLS's k)
K_NEIGHBOURS = 10
#: up to this many evidence rows, ``r`` is exact; above, estimated against a sample of ``SAMPLE_ROWS``
SAMPLE_ROWS = 10_000
MAX_EXACT_ROWS = SAMPLE_ROWS  # so that no catalogue costs more than n × SAMPLE_ROWS products
_BLOCK = 1024


def hubness(vectors: np.ndarray, owners: np.ndarray, k: int = K_NEIGHBOURS, among: np.ndarray | None = None) -> np.ndarray:
    """Mean cosine of each row of ``vectors`` to its ``k`` nearest rows of other owners (exact).

    ``vectors``: unit rows; ``owners``: the supplier of each row. ``among``: compute only these
    rows (indices), still against every row. Rows with fewer than ``k`` foreign neighbours
    average what there is (0.0 when there is none).
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    owners = np.asarray(owners)
    rows = np.arange(len(vectors)) if among is None else np.asarray(among, dtype=np.int64)
    out = np.zeros(len(rows), dtype=np.float32)
    if len(vectors) == 0 or len(rows) == 0:
        return out
    for start in range(0, len(rows), _BLOCK):
        block = rows[start : start + _BLOCK]
        out[start : start + len(block)] = _against(vectors[block], owners[block], vectors, owners, k)
    return out


class HubnessTable:
    """``r`` of every evidence row of a ranker, computed once and reused across live updates by key."""

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        self.keys = np.asarray(keys, dtype=np.int64)
        self.values = np.asarray(values, dtype=np.float32)

    @classmethod
    def build(
        cls,
        keys: np.ndarray,
        vectors_of: Callable[[np.ndarray], np.ndarray],
        owners: np.ndarray,
        previous: HubnessTable | None = None,
        k: int = K_NEIGHBOURS,
    ) -> HubnessTable:
        """``r`` for the rows ``keys`` (``vectors_of(rows)`` reads their vectors, ``owners`` their
        suppliers); the keys ``previous`` knows keep their value, only the others are computed.

        Up to ``MAX_EXACT_ROWS`` rows, against every row; above, against a fixed sample of
        ``SAMPLE_ROWS`` of them (an estimate: the same for every row, so the ranking it corrects
        stays comparable), which bounds the cost of a catalogue of a million texts.
        """
        keys = np.asarray(keys, dtype=np.int64)
        owners = np.asarray(owners)
        values = np.zeros(len(keys), dtype=np.float32)
        todo = np.arange(len(keys))
        if previous is not None and len(previous.keys):
            order = np.argsort(previous.keys, kind="stable")
            known_keys = previous.keys[order]
            pos = np.minimum(np.searchsorted(known_keys, keys), len(order) - 1)
            known = known_keys[pos] == keys
            values[known] = previous.values[order][pos[known]]
            todo = np.flatnonzero(~known)
        if len(todo) == 0:
            return cls(keys, values)
        n = len(keys)
        reference = np.arange(n) if n <= MAX_EXACT_ROWS else np.sort(np.random.default_rng(0).choice(n, SAMPLE_ROWS, replace=False))
        ref_vectors, ref_owners = vectors_of(reference), owners[reference]
        for start in range(0, len(todo), _BLOCK):
            block = todo[start : start + _BLOCK]
            values[block] = _against(vectors_of(block), owners[block], ref_vectors, ref_owners, k)
        return cls(keys, values)


def _against(vectors: np.ndarray, owners: np.ndarray, ref_vectors: np.ndarray, ref_owners: np.ndarray, k: int) -> np.ndarray:
    """Mean cosine of each row to its ``k`` nearest reference rows of other owners."""
    sims = np.asarray(vectors, dtype=np.float32) @ np.asarray(ref_vectors, dtype=np.float32).T
    sims[owners[:, None] == ref_owners[None, :]] = -np.inf
    m = sims.shape[1]
    kk = min(k, m)
    if kk <= 0:
        return np.zeros(len(vectors), dtype=np.float32)
    foreign = np.isfinite(sims).sum(axis=1)
    top = np.partition(sims, m - kk, axis=1)[:, m - kk :]
    top = np.where(np.isfinite(top), top, 0.0)
    return (top.sum(axis=1) / np.maximum(np.minimum(foreign, kk), 1)).astype(np.float32)
