"""Hubness of evidence vectors: how close each text sits to everything else.

In a dense space some texts ("hubs": generic descriptions, boilerplate objects) are near to
most queries and crowd the top of every ranking. Cross-domain similarity local scaling (CSLS,
Conneau et al. 2018) corrects for it: each evidence row gets ``r`` = the mean cosine to its
``k`` nearest evidence rows of *other* suppliers, and the query–row score becomes
``cos − r / 2`` (rank-equivalent to CSLS's ``2 cos − r_row − r_query`` for one query).

``hubness`` computes ``r`` exactly, block by block. ``HubnessTable`` keeps ``r`` by evidence key
so that a live update only computes the rows it adds (the rows already there keep their value
while the catalogue stays within ``REFRESH_GROWTH`` of the size they were computed against; past
it, every row is computed again); past ``MAX_EXACT_ROWS`` rows it estimates ``r`` against a fixed
sample of rows, so that its cost grows linearly with the catalogue (``n × SAMPLE_ROWS`` products).
The table is saved with each published index version (``save``/``load``): a service starting on
a saved version computes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

#: neighbours averaged (CSLS's k)
K_NEIGHBOURS = 10
#: up to this many evidence rows, ``r`` is exact; above, estimated against a sample of ``SAMPLE_ROWS``
SAMPLE_ROWS = 10_000
MAX_EXACT_ROWS = SAMPLE_ROWS  # so that no catalogue costs more than n × SAMPLE_ROWS products
_BLOCK = 1024
#: the values a table holds are reused while the catalogue has not grown or shrunk by more than this
#: share of the rows they were computed against (a neighbourhood of 1,000 rows says little of 100,000)
REFRESH_GROWTH = 0.1
#: the file of a table in an index version's folder
HUBNESS_FILE = "hubness.npz"


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

    def __init__(self, keys: np.ndarray, values: np.ndarray, basis: int | None = None) -> None:
        self.keys = np.asarray(keys, dtype=np.int64)
        self.values = np.asarray(values, dtype=np.float32)
        #: how many rows the values were computed against (all of them computed afresh at that size)
        self.basis = len(self.keys) if basis is None else int(basis)

    def save(self, folder: str | Path) -> Path:
        """Write the table into ``folder`` (an index version being published)."""
        path = Path(folder) / HUBNESS_FILE
        with path.open("wb") as handle:
            np.savez(handle, keys=self.keys, values=self.values, basis=np.asarray(self.basis, dtype=np.int64))
        return path

    @classmethod
    def load(cls, folder: str | Path) -> HubnessTable | None:
        """The table saved in ``folder``, or ``None`` (a version published without one, or unreadable)."""
        path = Path(folder) / HUBNESS_FILE
        try:
            with np.load(path) as saved:
                keys, values, basis = saved["keys"], saved["values"], int(saved["basis"])
        except (OSError, KeyError, ValueError):
            return None
        return cls(keys, values, basis) if len(keys) == len(values) else None

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
        suppliers); the keys ``previous`` knows keep their value, only the others are computed —
        unless the rows are now more than ``REFRESH_GROWTH`` away from the number ``previous``'s
        values were computed against: then all of them are computed again.

        Up to ``MAX_EXACT_ROWS`` rows, against every row; above, against a fixed sample of
        ``SAMPLE_ROWS`` of them (an estimate: the same for every row, so the ranking it corrects
        stays comparable), which bounds the cost of a catalogue of a million texts.
        """
        keys = np.asarray(keys, dtype=np.int64)
        owners = np.asarray(owners)
        values = np.zeros(len(keys), dtype=np.float32)
        todo = np.arange(len(keys))
        basis = len(keys)
        if previous is not None and len(previous.keys) and abs(len(keys) - previous.basis) <= REFRESH_GROWTH * previous.basis:
            basis = previous.basis
            order = np.argsort(previous.keys, kind="stable")
            known_keys = previous.keys[order]
            pos = np.minimum(np.searchsorted(known_keys, keys), len(order) - 1)
            known = known_keys[pos] == keys
            values[known] = previous.values[order][pos[known]]
            todo = np.flatnonzero(~known)
        if len(todo) == 0:
            return cls(keys, values, basis)
        n = len(keys)
        reference = np.arange(n) if n <= MAX_EXACT_ROWS else np.sort(np.random.default_rng(0).choice(n, SAMPLE_ROWS, replace=False))
        ref_vectors, ref_owners = vectors_of(reference), owners[reference]
        for start in range(0, len(todo), _BLOCK):
            block = todo[start : start + _BLOCK]
            values[block] = _against(vectors_of(block), owners[block], ref_vectors, ref_owners, k)
        return cls(keys, values, basis)


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
