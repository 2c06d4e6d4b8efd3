"""Dense vector indexes: FAISS (inner product on unit vectors), one class per kind, and the NumPy oracle.

Every index answers ``search(queries, k, allowed)``: the ``k`` best rows per query among the
``allowed`` rows (all when ``None``), as ``(scores, ids)``, scores descending, ``-1`` padded. A
FAISS index is saved with a ``manifest.json`` naming the encoder it was built with and its kind,
and refuses to load for another one.

``FlatIndex``
    ``IndexFlatIP``: exact search, a full scan per query, while its single-query latency stays
    within the policy's budget (``matcher.index.policy``).
``HNSWIndex``
    ``IndexHNSWFlat`` (inner product): a graph over the float32 vectors, approximate search; the
    vectors are still stored exactly. A filtered search scans the allowed rows exactly when that
    is cheaper than a graph search widened for the filter (``policy.filtered_plan``).
``IVFPQIndex``
    For when the float32 vectors and the graph do not fit the memory budget: an inverted file
    (k-means on unit vectors, L2 = inner-product ranking) whose lists hold product-quantisation
    codes, and whose shortlist is re-ranked with 8-bit scalar-quantised copies of the vectors
    (``IndexRefine``). No float32 vector is kept: scores and ``vectors()`` are the 8-bit
    reconstructions (error about 1e-3 on a cosine).

``FaissIndex(vectors)`` builds the kind the policy chooses for the size (``choose_kind``);
``FaissIndex(vectors, kind="hnsw")`` forces one; ``FaissIndex(dim=384)`` is an empty flat index.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from matcher.index.manifest import MANIFEST, MANIFEST_KINDS, VECTORS, IndexManifest, IndexMismatchError
from matcher.index.oracle import NumpyIndex, top_k
from matcher.index.policy import (
    EXACT_GATHER_RATIO,
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_FILTERED_MAX,
    HNSW_M,
    IVF_TRAIN_PER_LIST,
    IVFPQ_MIN_ROWS,
    IVFPQ_NBITS,
    IVFPQ_REFINE_K_FACTOR,
    KINDS,
    PARALLEL_MIN_QUERIES,
    choose_kind,
    filtered_plan,
    hnsw_ef_search,
    ivf_nlist,
    ivf_nprobe,
    pq_m,
)

__all__ = ["FaissIndex", "FlatIndex", "HNSWIndex", "IVFPQIndex", "NumpyIndex", "set_threads"]


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


def _l2_to_ip(queries: np.ndarray, sq_l2: np.ndarray) -> np.ndarray:
    """Inner products from squared L2 distances to unit rows: ‖q − x‖² = ‖q‖² + 1 − 2·q·x."""
    return (np.einsum("ij,ij->i", queries, queries)[:, None] + 1.0 - sq_l2) / 2.0


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


class FlatIndex(FaissIndex):
    """Exact search: ``IndexFlatIP``; a filtered search skips the other rows in its own scan."""

    kind = "flat"
    faiss_class = "IndexFlat"

    def _new_index(self, dim: int, vectors: np.ndarray | None) -> Any:
        return self._faiss.IndexFlatIP(dim)

    def _storage(self) -> Any:
        return self.index

    def _filtered(self, queries: np.ndarray, k: int, mask: np.ndarray, n_allowed: int) -> tuple[np.ndarray, np.ndarray]:
        return self._faiss_search(queries, k, self._selector(mask))


class HNSWIndex(FaissIndex):
    """A graph over the exact float32 vectors (``IndexHNSWFlat``, inner product)."""

    kind = "hnsw"
    faiss_class = "IndexHNSWFlat"

    def _new_index(self, dim: int, vectors: np.ndarray | None) -> Any:
        index = self._faiss.IndexHNSWFlat(dim, HNSW_M, self._faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        return index

    def _configure(self) -> None:
        super()._configure()
        self.index.hnsw.efSearch = hnsw_ef_search(len(self))

    def _params(self, sel: Any = None, share: float = 1.0) -> Any:
        ef = hnsw_ef_search(len(self))
        extra = {} if sel is None else {"sel": sel}
        return self._faiss.SearchParametersHNSW(efSearch=min(max(ef, HNSW_EF_FILTERED_MAX), math.ceil(ef / share)), **extra)

    def _storage(self) -> Any:
        return self._faiss.downcast_index(self.index.storage)


class IVFPQIndex(FaissIndex):
    """Inverted lists of PQ codes re-ranked with 8-bit copies (``IndexRefine`` over ``IndexIVFPQ``, L2)."""

    kind = "ivfpq"
    faiss_class = "IndexRefine"

    def _new_index(self, dim: int, vectors: np.ndarray | None) -> Any:
        faiss = self._faiss
        n = 0 if vectors is None else len(vectors)
        if vectors is None or n < IVFPQ_MIN_ROWS:
            raise ValueError(f"an ivfpq index is trained on its vectors and needs at least {IVFPQ_MIN_ROWS} rows, got {n}")
        nlist = ivf_nlist(n)
        # L2 on unit vectors ranks like inner product, and k-means centroids suit L2
        base = faiss.IndexIVFPQ(faiss.IndexFlatL2(dim), dim, nlist, pq_m(dim), IVFPQ_NBITS)
        base.pq.cp.min_points_per_centroid = 4  # small catalogues: train PQ without a warning
        # PQ of the vectors, not of their residuals to the list centroid: one lookup table per
        # query instead of one per list visited (40 % of the lists), 9× faster to build, and
        # the same recall once re-ranked (measured at 100k rows)
        base.by_residual = False
        refine = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit)
        index = faiss.IndexRefine(base, refine)  # the wrapper keeps base and refine alive
        n_train = min(n, nlist * IVF_TRAIN_PER_LIST)
        set_threads(n)
        index.train(vectors[np.sort(np.random.default_rng(0).choice(n, n_train, replace=False))])
        return index

    def _configure(self) -> None:
        super()._configure()
        faiss = self._faiss
        self.index.k_factor = IVFPQ_REFINE_K_FACTOR
        self._ivf = faiss.downcast_index(self.index.base_index)
        self._ivf.nprobe = self._nprobe = ivf_nprobe(self._ivf.nlist)
        self._sq = faiss.downcast_index(self.index.refine_index)

    def _params(self, sel: Any = None, share: float = 1.0) -> Any:
        faiss = self._faiss
        extra = {} if sel is None else {"sel": sel}
        # a filter keeps fewer rows per list: visit more lists (1/√share as many; the lists skip
        # the other rows without scoring them)
        nprobe = min(self._ivf.nlist, math.ceil(self._nprobe / math.sqrt(share)))
        ivf = faiss.SearchParametersIVF(nprobe=nprobe, **extra)
        # the faiss wrapper keeps ``ivf`` (and ``sel``) referenced by the parameters
        return faiss.IndexRefineSearchParameters(k_factor=IVFPQ_REFINE_K_FACTOR, base_index_params=ivf)

    def _storage(self) -> Any:
        return self._sq

    def _as_inner_product(self, queries: np.ndarray, scores: np.ndarray) -> np.ndarray:
        return _l2_to_ip(queries, scores)

    def _rows(self, ids: np.ndarray | None = None) -> np.ndarray:
        n = len(self)
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        codes = self._faiss.rev_swig_ptr(self._sq.codes.data(), n * self._sq.code_size).reshape(n, self._sq.code_size)
        return self._sq.sa_decode(np.ascontiguousarray(codes if ids is None else codes[ids]))

    def vectors(self, copy: bool = True) -> np.ndarray:
        return self._rows()  # no float32 storage to view: always decoded

    @property
    def nlist(self) -> int | None:
        return int(self._ivf.nlist)


_CLASSES: dict[str, type[FaissIndex]] = {cls.kind: cls for cls in (FlatIndex, HNSWIndex, IVFPQIndex)}
