"""A persistent vector cache keyed by (encoder key, query/passage, text hash).

Re-indexing unchanged text costs nothing: only texts never seen by this encoder version
are encoded. Stored in SQLite (one file, safe for several readers).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .base import Encoder

_CHUNK = 500  # SQLite parameters per query


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class VectorCache:
    """Vectors already computed, in a SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT, kind TEXT, hash TEXT, vector BLOB, PRIMARY KEY (model, kind, hash))"
        )
        self._lock = threading.Lock()  # one connection shared by the encoder's lanes
        self.hits = 0
        self.misses = 0

    def get(self, model: str, kind: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT hash, vector FROM vectors WHERE model=? AND kind=? AND hash IN ({marks})", (model, kind, *chunk)
                ).fetchall()
            for h, blob in rows:
                found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, model: str, kind: str, items: dict[str, np.ndarray]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)",
                [(model, kind, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items.items()],
            )

    def close(self) -> None:
        self._db.close()

    @property
    def hit_ratio(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class CachedEncoder(Encoder):
    """Wraps an encoder so that each distinct text is encoded once per encoder version."""

    def __init__(self, inner: Encoder, cache: VectorCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.version = inner.version
        self.dim = inner.dim
        self.batch_size = inner.batch_size
        self.max_query_tokens = inner.max_query_tokens

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:  # pragma: no cover - not used
        return self.inner._encode(texts, is_query)

    def count_tokens(self, text: str, is_query: bool = True) -> int:
        return self.inner.count_tokens(text, is_query)

    @contextmanager
    def threads(self, n: int) -> Iterator[None]:
        with self.inner.threads(n):
            yield

    def _batched(self, texts: list[str], is_query: bool, progress: bool | None) -> np.ndarray:
        kind = "query" if is_query else "passage"
        hashes = [text_hash(t) for t in texts]
        found = self.cache.get(self.key, kind, hashes)
        missing = list(dict.fromkeys(h for h in hashes if h not in found))
        # a miss is a text that had to be encoded; every other text (cached or repeated) is a hit
        self.cache.misses += len(missing)
        self.cache.hits += len(texts) - len(missing)
        if missing:
            by_hash = {h: t for h, t in zip(hashes, texts)}
            fresh = self.inner._batched([by_hash[h] for h in missing], is_query, progress)
            new = dict(zip(missing, fresh))
            self.cache.put(self.key, kind, new)
            found.update(new)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(np.vstack([found[h] for h in hashes]), dtype=np.float32)
