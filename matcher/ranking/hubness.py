"""Hubness of evidence vectors: how close each text sits to everything else.

In a dense space some texts ("hubs": generic descriptions, boilerplate objects) are near to
most queries and crowd the top of every ranking. Cross-domain similarity local scaling (CSLS,
Conneau et al. 2018) corrects for it: each evidence row gets ``r`` = the mean cosine to its
``k`` nearest evidence rows of *other* suppliers, and the query–row score becomes
``cos − r / 2`` (rank-equivalent to CSLS's ``2 cos − r_row − r_query`` for one query).

``hubness`` computes ``r`` exactly, block by block (an ``n × n`` product: a 50,000-row
catalogue costs about 10 s on 2 cores, once per full index build); ``HubnessTable`` keeps
``r`` by evidence key so that a live update only computes the rows it adds (the rows already
there keep their value until the next full build, a small drift measured in benchmarks/).
"""

from __future__ import annotations

import numpy as np

#: neighbours averaged (CSLS's k)
K_NEIGHBOURS = 10
_BLOCK = 1024


def hubness(vectors: np.ndarray, owners: np.ndarray, k: int = K_NEIGHBOURS, among: np.ndarray | None = None) -> np.ndarray:
    """Mean cosine of each row of ``vectors`` to its ``k`` nearest rows of other owners.

    ``vectors``: unit rows; ``owners``: the supplier of each row. ``among``: compute only these
    rows (indices), still against every row. Rows with fewer than ``k`` foreign neighbours
    average what there is (0.0 when there is none).
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    owners = np.asarray(owners)
    rows = np.arange(len(vectors)) if among is None else np.asarray(among, dtype=np.int64)
    out = np.zeros(len(rows), dtype=np.float32)
    n = len(vectors)
    if n == 0 or len(rows) == 0:
        return out
    for start in range(0, len(rows), _BLOCK):
        block = rows[start : start + _BLOCK]
        sims = vectors[block] @ vectors.T
        sims[owners[block][:, None] == owners[None, :]] = -np.inf  # its own supplier's texts are no neighbours
        foreign = np.isfinite(sims).sum(axis=1)
        kk = min(k, n - 1)
        if kk <= 0:
            continue
        top = np.partition(sims, n - kk, axis=1)[:, n - kk :]
        top = np.where(np.isfinite(top), top, 0.0)
        out[start : start + len(block)] = top.sum(axis=1) / np.maximum(np.minimum(foreign, kk), 1)
    return out


class HubnessTable:
    """``r`` of every evidence row of a ranker, computed once and reused across live updates by key."""

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        self.keys = np.asarray(keys, dtype=np.int64)
        self.values = np.asarray(values, dtype=np.float32)

    @classmethod
    def build(
        cls, keys: np.ndarray, vectors: np.ndarray, owners: np.ndarray, previous: HubnessTable | None = None, k: int = K_NEIGHBOURS
    ) -> HubnessTable:
        """``r`` for the rows ``keys`` (their ``vectors`` and ``owners``); the keys ``previous`` knows keep their value."""
        keys = np.asarray(keys, dtype=np.int64)
        values = np.zeros(len(keys), dtype=np.float32)
        todo = np.arange(len(keys))
        if previous is not None and len(previous.keys):
            order = np.argsort(previous.keys)
            pos = np.searchsorted(previous.keys[order], keys)
            pos = np.minimum(pos, len(order) - 1)
            known = previous.keys[order][pos] == keys
            values[known] = previous.values[order][pos[known]]
            todo = np.flatnonzero(~known)
        if len(todo):
            values[todo] = hubness(vectors, owners, k, among=todo)
        return cls(keys, values)
