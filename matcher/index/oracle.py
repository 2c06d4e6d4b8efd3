"""Brute-force search: the exact oracle every FAISS kind is tested against, and the top-k both use."""

from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` of ``scores`` (queries × candidates) as ``(scores, rows)``, -1 padded.

    Ordered by score descending, then row id ascending (the order of ``NumpyIndex``).
    """
    n_q, n_c = scores.shape
    out_scores = np.full((n_q, k), -np.inf, dtype=np.float32)
    out_ids = np.full((n_q, k), -1, dtype=np.int64)
    k_eff = min(k, n_c)
    if k_eff == 0:
        return out_scores, out_ids
    if k_eff < n_c:
        part = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
        # include every candidate tied with the k-th so that ties break on the row id
        kth = np.take_along_axis(scores, part, axis=1).min(axis=1, keepdims=True)
        for q in range(n_q):
            cand = np.flatnonzero(scores[q] >= kth[q])
            order = np.lexsort((rows[cand], -scores[q, cand]))[:k_eff]
            out_scores[q, :k_eff] = scores[q, cand[order]]
            out_ids[q, :k_eff] = rows[cand[order]]
        return out_scores, out_ids
    order = np.lexsort((np.broadcast_to(rows, scores.shape), -scores), axis=1)
    out_scores[:, :k_eff] = np.take_along_axis(scores, order, axis=1)
    out_ids[:, :k_eff] = rows[order]
    return out_scores, out_ids


class NumpyIndex:
    """Brute-force inner-product search: the oracle the FAISS index is tested against."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.vectors)

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        scores = queries @ self.vectors.T
        if allowed is not None:
            mask = np.full(len(self.vectors), -np.inf, dtype=np.float32)
            mask[np.asarray(allowed, dtype=np.int64)] = 0.0
            scores = scores + mask
        k_eff = min(k, len(self.vectors))
        out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_ids = np.full((len(queries), k), -1, dtype=np.int64)
        if k_eff == 0:
            return out_scores, out_ids
        # stable ordering: score descending, then row id ascending
        order = np.lexsort((np.broadcast_to(np.arange(scores.shape[1]), scores.shape), -scores), axis=1)[:, :k_eff]
        top = np.take_along_axis(scores, order, axis=1)
        valid = np.isfinite(top)
        out_scores[:, :k_eff] = np.where(valid, top, -np.inf)
        out_ids[:, :k_eff] = np.where(valid, order, -1)
        return out_scores, out_ids
