"""What every FAISS kind shares (``FaissIndex``): adding, cloning, stored vectors, (filtered) search,
save and load; the OpenMP thread rule. A kind is a subclass in its own module, registered by its
``kind`` name when it is defined (``FaissIndex(..., kind=...)`` and ``FaissIndex.load`` build it).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from matcher.index.manifest import MANIFEST, MANIFEST_KINDS, VECTORS, IndexManifest, IndexMismatchError
from matcher.index.oracle import top_k
from matcher.index.policy import (
    EXACT_GATHER_RATIO,
    KINDS,
    PARALLEL_MIN_QUERIES,
    choose_kind,
    filtered_plan,
)


def _batch_threads() -> int:
    """Threads for batches and builds: ``OMP_NUM_THREADS`` when set, else every core."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "").split(",")[0]))
    except ValueError:
        return max(1, os.cpu_count() or 1)


def set_threads(n_queries: int) -> None:
    """One OpenMP thread for fewer than :data:`PARALLEL_MIN_QUERIES` queries, all of them for
    batches and builds. OpenMP's thread count belongs to the calling thread: each request
    thread of the service sets its own."""
    import faiss

    faiss.omp_set_num_threads(1 if n_queries < PARALLEL_MIN_QUERIES else _batch_threads())


#: each kind's class, by kind name (filled as the kinds' modules are imported: ``matcher.index.kinds``)
_CLASSES: dict[str, type[FaissIndex]] = {}


class FaissIndex:
    """What every FAISS kind shares: adding, cloning, stored vectors, (filtered) search, save and load.

    A kind is a subclass that says how its FAISS index is made and configured, which parameters
    a search takes, where the vectors an exact scan reads are stored, and how its scores become
    inner products. ``FaissIndex(...)`` itself builds the subclass of the kind asked for or chosen.
    """

    kind: ClassVar[str] = ""
    #: the FAISS class a saved index of this kind must be (checked on load)
    faiss_class: ClassVar[str] = ""
    _faiss: Any  # the faiss module, imported when an index is made (never at import)
    index: Any  # the FAISS index

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _CLASSES[cls.kind] = cls

    def __new__(cls, vectors: np.ndarray | None = None, dim: int | None = None, kind: str | None = None) -> FaissIndex:
        if cls is not FaissIndex:
            return super().__new__(cls)
        n = 0 if vectors is None else len(vectors)
        if kind is None:
            if dim is None and vectors is None:
                raise ValueError("FaissIndex needs vectors or a dimension")
            kind = choose_kind(n, int(dim if vectors is None else np.asarray(vectors).shape[1]))  # type: ignore[arg-type]
        if kind not in KINDS:
            raise ValueError(f"index kind {kind!r} is not one of {', '.join(KINDS)}")
        return super().__new__(_CLASSES[kind])

    def __init__(self, vectors: np.ndarray | None = None, dim: int | None = None, kind: str | None = None) -> None:
        import faiss

        self._faiss = faiss
        if vectors is not None:
            vectors = np.ascontiguousarray(vectors, dtype=np.float32)
            dim = vectors.shape[1]
        if dim is None:
            raise ValueError("FaissIndex needs vectors or a dimension")
        self.index = self._new_index(int(dim), vectors)
        if vectors is not None and len(vectors):
            set_threads(len(vectors))
            self.index.add(vectors)
        self._configure()

    # -- what a kind says -------------------------------------------------------------------------
    def _new_index(self, dim: int, vectors: np.ndarray | None) -> Any:
        """The empty (trained, when the kind needs it) FAISS index."""
        raise NotImplementedError

    def _configure(self) -> None:
        """Set the search-time parameters (also after ``load`` and ``add``: they are constants, not data)."""
        self._flat_view: np.ndarray | None = None

    def _params(self, sel: Any = None, share: float = 1.0) -> Any:
        """Search parameters; ``share``: the allowed fraction of the rows when filtering."""
        return None if sel is None else self._faiss.SearchParameters(sel=sel)

    def _storage(self) -> Any:
        """The FAISS index holding the stored vectors an exact scan reads."""
        raise NotImplementedError

    def _as_inner_product(self, queries: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """The index's scores as inner products (the identity, but for L2 kinds)."""
        return scores

    def _rows(self, ids: np.ndarray | None = None) -> np.ndarray:
        """Stored vectors of ``ids`` (all rows when ``None``) as float32, a copy (exact for float32 storage)."""
        n, d = len(self), self.dim
        if n == 0:
            return np.zeros((0, d), dtype=np.float32)
        if self._flat_view is None:
            # a view into the index's own storage (no copy); valid while self.index lives
            self._flat_view = self._faiss.rev_swig_ptr(self._storage().get_xb(), n * d).reshape(n, d)
        return np.array(self._flat_view if ids is None else self._flat_view[ids], dtype=np.float32)

    def _filtered(self, queries: np.ndarray, k: int, mask: np.ndarray, n_allowed: int) -> tuple[np.ndarray, np.ndarray]:
        """Search among the rows set in ``mask``: exactly, or the index widened for the filter (``policy.filtered_plan``)."""
        if filtered_plan(self.kind, len(self), n_allowed, self.dim) == "exact":
            return self._exact(queries, k, mask, n_allowed)  # a scan of few rows, or of a small share, is cheaper
        scores, ids = self._faiss_search(queries, k, self._selector(mask), n_allowed / len(self))
        # a narrow filter can starve the graph / the visited lists: complete those queries exactly
        short = np.flatnonzero((ids >= 0).sum(axis=1) < min(k, n_allowed))
        if len(short):
            scores[short], ids[short] = self._exact(queries[short], k, mask, n_allowed)
        return scores, ids

    # -- shared -----------------------------------------------------------------------------------
    def add(self, vectors: np.ndarray) -> np.ndarray:
        """Append ``vectors`` in place (no rebuild: HNSW links them into its graph, IVF-PQ encodes
        them with its trained quantisers); returns their row ids (``len(self)`` onwards)."""
        vectors = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
        if vectors.shape[1] != self.dim:
            raise ValueError(f"vectors of dimension {vectors.shape[1]} cannot join an index of dimension {self.dim}")
        start = len(self)
        if len(vectors):
            set_threads(len(vectors))
            self.index.add(vectors)
            self._configure()  # the storage moved (views are stale) and efSearch depends on size
        return np.arange(start, len(self), dtype=np.int64)

    def clone(self) -> FaissIndex:
        """An independent copy (``faiss.clone_index``): a writer changes it while readers keep this one."""
        copy = object.__new__(type(self))
        copy._faiss = self._faiss
        copy.index = self._faiss.clone_index(self.index)
        copy._configure()
        return copy

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def nlist(self) -> int | None:
        """Inverted lists of an ``ivfpq`` index (``None`` for the others)."""
        return None

    @property
    def manifest_kind(self) -> str:
        return MANIFEST_KINDS[self.kind]

    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of rows ``ids`` (float32; 8-bit reconstructions for ``ivfpq``)."""
        return self._rows(np.asarray(ids, dtype=np.int64))

    def vectors(self, copy: bool = True) -> np.ndarray:
        """All stored vectors: exact for ``flat`` and ``hnsw``; for ``ivfpq`` the 8-bit
        scalar-quantised reconstructions (cosine error about 1e-3; the originals are not kept).

        ``copy=False`` returns, for ``flat`` and ``hnsw``, a read-only view of the index's own
        storage instead of a copy (no second float32 copy in memory; valid while this index
        lives); ``ivfpq`` always decodes a new array.
        """
        if copy or len(self) == 0:
            return self._rows()
        self._rows(np.zeros(0, dtype=np.int64))  # creates the view
        view = self._flat_view.view()  # type: ignore[union-attr]  # created just above
        view.flags.writeable = False
        return view

    def _selector(self, mask: np.ndarray) -> Any:
        """A FAISS selector of the rows set in ``mask``: a bitmap, built in about a millisecond
        for 1M rows (an ``IDSelectorBatch`` of 500k ids takes far longer)."""
        # the faiss wrapper keeps the bitmap alive as long as the selector
        return self._faiss.IDSelectorBitmap(np.packbits(mask, bitorder="little"))

    def _exact(self, queries: np.ndarray, k: int, mask: np.ndarray, n_allowed: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact search over the stored vectors of the ``n_allowed`` rows set in ``mask``.

        Few rows: gathered and scored with NumPy. Many: a scan of the index's own storage (the
        float32 vectors, or the 8-bit copies for ``ivfpq``) that skips the other rows, with no copy.
        """
        if n_allowed * EXACT_GATHER_RATIO <= len(self):
            rows = np.flatnonzero(mask)
            return top_k(queries @ self._rows(rows).T, rows, k)
        scores, ids = self._storage().search(queries, k, params=self._faiss.SearchParameters(sel=self._selector(mask)))
        ids = ids.astype(np.int64)
        scores = self._as_inner_product(queries, scores)
        return np.where(ids >= 0, scores, -np.inf).astype(np.float32), ids

    def _faiss_search(self, queries: np.ndarray, k: int, sel: Any = None, share: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = self.index.search(queries, k, params=self._params(sel, share))
        ids = ids.astype(np.int64)
        scores = self._as_inner_product(queries, scores)
        return np.where(ids >= 0, scores, -np.inf).astype(np.float32), ids

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best rows per query among ``allowed``: row ids, or a boolean mask of
        ``len(self)`` rows (``None``: all rows)."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        set_threads(len(queries))
        if allowed is None:
            return self._faiss_search(queries, k)
        allowed = np.asarray(allowed)
        if allowed.dtype == bool and allowed.shape == (len(self),):
            mask = allowed
        else:
            # a boolean mask, not np.unique: 1 ms instead of 300 ms for 500k ids out of 1M
            rows = allowed.astype(np.int64).ravel()
            mask = np.zeros(len(self), dtype=bool)
            mask[rows[(rows >= 0) & (rows < len(self))]] = True
        n_allowed = int(np.count_nonzero(mask))
        if n_allowed == 0:
            return np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64)
        return self._filtered(queries, k, mask, n_allowed)

    # -- persistence --------------------------------------------------------------------------------
    def save(self, folder: str | Path, manifest: IndexManifest) -> None:
        """Write the index and its manifest atomically (temporary files, then rename).

        The manifest's ``kind`` is set to this index's (``MANIFEST_KINDS``).
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        manifest.kind = self.manifest_kind
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
                f"the index in {folder} was built with encoder {manifest.encoder_key}, not {expect_encoder}: rebuild it with `matcher index`"
            )
        kind = next((k for k, label in MANIFEST_KINDS.items() if label == manifest.kind), None)
        if kind is None:
            raise IndexMismatchError(f"the index in {folder} is of unknown kind {manifest.kind!r}; rebuild it with `matcher index`")
        import faiss

        self = object.__new__(_CLASSES[kind])
        self._faiss = faiss
        self.index = faiss.read_index(str(folder / VECTORS))
        if not isinstance(self.index, getattr(faiss, self.faiss_class)):
            raise IndexMismatchError(f"the index in {folder} is a {type(self.index).__name__}, not {manifest.kind}; rebuild it")
        if self.index.d != manifest.dim or self.index.ntotal != manifest.size:
            raise IndexMismatchError(f"the index in {folder} does not match its manifest (dim or size); rebuild it")
        self._configure()
        return self, manifest
