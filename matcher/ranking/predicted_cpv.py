"""Predicted CPV agreement: do the need and the supplier fall in the same CPV division, by their words?

A need typed without codes and a start-up without contracts have no CPV to compare; the text →
CPV classifier (``matcher.learning.cpv_classifier``) gives each text a probability per division.
The ``cpv_predicted`` feature of a pair is the probability that both land in the same division,
``Σ_d p_need(d) · p_supplier(d)``: high when both texts speak of the same kind of purchase, the
classes' shares squared (about 0.1) when either says nothing of one.

``PredictedCpv`` holds the classifier and the suppliers' probabilities, computed from their
lexical documents the first time a supplier is a candidate (in one batch per query: a catalogue
of a million rows is never classified whole at start) and kept while the ranker lives; a ranker
derived from another (a live update) keeps the rows that did not change. The needs'
probabilities are cached by text.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from matcher.ranking.corpus import Corpus

#: needs' probabilities kept by text (a page asks for the same text several times)
NEED_CACHE = 1024


class CpvModel(Protocol):
    """What the feature reads of a classifier: its classes and their probabilities for texts."""

    @property
    def classes(self) -> list[str]: ...

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


class PredictedCpv:
    """The CPV division probabilities of a corpus's suppliers (filled as they become candidates) and of needs."""

    def __init__(self, model: CpvModel, corpus: Corpus, previous: PredictedCpv | None = None) -> None:
        self.model = model
        self.corpus = corpus
        n, c = len(corpus), len(model.classes)
        #: each supplier's probabilities (float16: a million rows × 45 divisions is 90 MB), valid where ``known``
        self.proba = np.zeros((n, c), dtype=np.float16)
        self.known = np.zeros(n, dtype=bool)
        self._needs: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # requests rank in threads: the needs' cache is shared
        if previous is not None and previous.model is model:
            self._needs, self._lock = previous._needs, previous._lock
            if previous.corpus is corpus:
                self.proba, self.known = previous.proba, previous.known
            elif corpus.derived_from and corpus.derived_from == previous.corpus.version:
                rows = np.flatnonzero(corpus.previous_rows >= 0)
                old = corpus.previous_rows[rows]
                keep = previous.known[old]
                self.proba[rows[keep]] = previous.proba[old[keep]]
                self.known[rows[keep]] = True

    def need(self, text: str) -> np.ndarray:
        """The division probabilities of a need's text (cached)."""
        with self._lock:
            cached = self._needs.get(text)
            if cached is not None:
                self._needs.move_to_end(text)
                return cached
        return self.needs([text])[0]

    def needs(self, texts: Sequence[str]) -> np.ndarray:
        """The division probabilities of several needs' texts, those not cached classified in one batch."""
        with self._lock:
            found = {t: self._needs[t] for t in texts if t in self._needs}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            computed = dict(zip(missing, np.asarray(self.model.predict_proba(missing), dtype=np.float32)))
            found.update(computed)
            with self._lock:
                self._needs.update(computed)
                while len(self._needs) > NEED_CACHE:
                    self._needs.popitem(last=False)
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, len(self.model.classes)), np.float32)

    def suppliers(self, rows: np.ndarray) -> np.ndarray:
        """The division probabilities of supplier ``rows``, classifying those never seen (one batch)."""
        rows = np.asarray(rows, dtype=np.int64)
        todo = np.unique(rows[~self.known[rows]])
        if len(todo):
            documents = self.corpus.documents
            self.proba[todo] = np.asarray(self.model.predict_proba([documents[int(i)] for i in todo]), dtype=np.float16)
            self.known[todo] = True
        return self.proba[rows].astype(np.float32)

    def agreement(self, text: str, rows: np.ndarray) -> np.ndarray:
        """``cpv_predicted`` of a need's text with each supplier of ``rows``: Σ_d p_need(d) · p_supplier(d)."""
        return (self.suppliers(rows) @ self.need(text)).astype(np.float32)


def predicted_cpv(model: Any, corpus: Corpus, previous: PredictedCpv | None = None) -> PredictedCpv | None:
    """A ``PredictedCpv`` for ``model`` (``None`` without a classifier: the feature stays 0)."""
    return None if model is None else PredictedCpv(model, corpus, previous)
