"""Dense vector indexes: FAISS (inner product on unit vectors) and its NumPy oracle.

Both answer ``search(queries, k, allowed)``: the ``k`` best rows per query among the
``allowed`` row ids (all rows when ``None``), as ``(scores, ids)`` with ``-1`` padding.
An index is saved with a ``manifest.json`` that names the encoder it was built with, and
refuses to load for another one.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"


class IndexMismatchError(RuntimeError):
    """The saved index was built with another encoder or catalogue than the one asked for."""


@dataclass
class IndexManifest:
    """What an index was built from: enough to refuse it when something changed."""

    encoder: str
    encoder_version: str
    dim: int
    size: int
    catalogue_hash: str
    created_at: str
    kind: str = "faiss-flat-ip"
    faiss_version: str = ""

    @property
    def encoder_key(self) -> str:
        return f"{self.encoder}@{self.encoder_version}"


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


class FaissIndex:
    """Exact inner-product FAISS index over unit vectors (``IndexFlatIP``)."""

    def __init__(self, vectors: np.ndarray | None = None, dim: int | None = None) -> None:
        import faiss

        self._faiss = faiss
        if vectors is not None:
            vectors = np.ascontiguousarray(vectors, dtype=np.float32)
            dim = vectors.shape[1]
        if dim is None:
            raise ValueError("FaissIndex needs vectors or a dimension")
        self.index = faiss.IndexFlatIP(int(dim))
        if vectors is not None and len(vectors):
            self.index.add(vectors)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def vectors(self) -> np.ndarray:
        """All stored vectors (a copy)."""
        if len(self) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.index.reconstruct_n(0, len(self))

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        params = None
        if allowed is not None:
            ids = np.ascontiguousarray(np.asarray(allowed, dtype=np.int64))
            if len(ids) == 0:
                return np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64)
            params = self._faiss.SearchParameters(sel=self._faiss.IDSelectorBatch(ids))
        scores, ids = self.index.search(queries, k, params=params)
        scores = np.where(ids >= 0, scores, -np.inf).astype(np.float32)
        return scores, ids.astype(np.int64)

    def save(self, folder: str | Path, manifest: IndexManifest) -> None:
        """Write the index and its manifest atomically (temporary files, then rename)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (VECTORS + ".tmp")
        self._faiss.write_index(self.index, str(tmp))
        os.replace(tmp, folder / VECTORS)
        tmp_manifest = folder / (MANIFEST + ".tmp")
        tmp_manifest.write_text(json.dumps(asdict(manifest), indent=2))
        os.replace(tmp_manifest, folder / MANIFEST)

    @classmethod
    def load(cls, folder: str | Path, expect_encoder: str | None = None) -> tuple[FaissIndex, IndexManifest]:
        """Read an index; refuse it (``IndexMismatchError``) if built with another encoder."""
        folder = Path(folder)
        manifest_path = folder / MANIFEST
        if not manifest_path.is_file():
            raise FileNotFoundError(f"no index in {folder} (missing {MANIFEST}); run `matcher index` first")
        manifest = IndexManifest(**json.loads(manifest_path.read_text()))
        if expect_encoder is not None and manifest.encoder_key != expect_encoder:
            raise IndexMismatchError(
                f"the index in {folder} was built with encoder {manifest.encoder_key}, "
                f"not {expect_encoder}: rebuild it with `matcher index`"
            )
        self = cls.__new__(cls)
        import faiss

        self._faiss = faiss
        self.index = faiss.read_index(str(folder / VECTORS))
        if self.index.d != manifest.dim or self.index.ntotal != manifest.size:
            raise IndexMismatchError(f"the index in {folder} does not match its manifest (dim or size); rebuild it")
        return self, manifest


def new_manifest(encoder_name: str, encoder_version: str, dim: int, size: int, catalogue_hash: str) -> IndexManifest:
    import faiss

    return IndexManifest(
        encoder=encoder_name,
        encoder_version=encoder_version,
        dim=dim,
        size=size,
        catalogue_hash=catalogue_hash,
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        faiss_version=getattr(faiss, "__version__", ""),
    )
