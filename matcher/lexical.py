"""BM25 over a fixed set of documents, as a sparse matrix (Lucene's formula, k1=1.2, b=0.75)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse


class BM25:
    """Okapi BM25 with a pluggable tokenizer; ``scores(query)`` rates every document."""

    def __init__(self, tokenizer: Callable[[str], list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.tokenizer = tokenizer
        self.k1 = k1
        self.b = b

    def fit(self, documents: Sequence[str]) -> BM25:
        """Index the documents (one string each)."""
        vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        lengths = np.zeros(len(documents), dtype=np.float32)
        for i, doc in enumerate(documents):
            counts = Counter(self.tokenizer(doc))
            lengths[i] = sum(counts.values())
            for term, tf in counts.items():
                rows.append(i)
                cols.append(vocab.setdefault(term, len(vocab)))
                vals.append(tf)
        n_docs = len(documents)
        tf = sparse.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(n_docs, len(vocab)))
        df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=len(vocab)).astype(np.float32)
        self.idf_ = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        avgdl = float(lengths.mean()) if n_docs and lengths.mean() > 0 else 1.0
        norm = self.k1 * (1.0 - self.b + self.b * lengths / avgdl)
        tf = tf.tocoo()
        weights = tf.data * (self.k1 + 1.0) / (tf.data + norm[tf.row]) * self.idf_[tf.col]
        self.weights_ = sparse.csc_matrix((weights.astype(np.float32), (tf.row, tf.col)), shape=tf.shape)
        self.vocabulary_ = vocab
        self.n_docs_ = n_docs
        return self

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for the query (zeros when no term is shared)."""
        counts = Counter(t for t in self.tokenizer(query) if t in self.vocabulary_)
        if not counts:
            return np.zeros(self.n_docs_, dtype=np.float32)
        cols = [self.vocabulary_[t] for t in counts]
        q = np.asarray([counts[t] for t in counts], dtype=np.float32)
        return np.asarray(self.weights_[:, cols] @ q, dtype=np.float32).ravel()

    def top(self, query: str, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best documents with a positive score (ids, scores), best first."""
        scores = self.scores(query)
        if allowed is not None:
            masked = np.full_like(scores, 0.0)
            masked[allowed] = scores[allowed]
            scores = masked
        positive = np.flatnonzero(scores > 0)
        if len(positive) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        order = positive[np.lexsort((positive, -scores[positive]))][:k]
        return order.astype(np.int64), scores[order]
