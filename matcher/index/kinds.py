"""Dense vector indexes: FAISS (inner product on unit vectors) and its NumPy oracle.

Both answer ``search(queries, k, allowed)``: the ``k`` best rows per query among the
``allowed`` row ids (all rows when ``None``), as ``(scores, ids)``, scores descending, with
``-1`` padding. An index is saved with a ``manifest.json`` that names the encoder it was built
with (and the index kind), and refuses to load for another one.

``FaissIndex`` has three kinds, chosen by size with :func:`choose_kind` unless asked for:

``flat``
    ``IndexFlatIP``: exact search, a full scan per query. Used while its single-query latency
    stays within :data:`LATENCY_BUDGET_MS` (:data:`FLAT_MAX_FLOATS` stored floats).
``hnsw``
    ``IndexHNSWFlat`` (inner product): a graph over the float32 vectors, approximate search.
    Vectors are still stored exactly (``vectors()`` is exact). Settings: :data:`HNSW_M`,
    :data:`HNSW_EF_CONSTRUCTION`, :func:`hnsw_ef_search`. A filtered search scans the allowed rows
    exactly when that is cheaper than a graph search widened for the filter (:func:`filtered_plan`).
``ivfpq``
    For when the float32 vectors and the graph do not fit the memory budget: an inverted file
    (:func:`ivf_nlist` lists, k-means on unit vectors, L2 = inner product ranking; 40 % of the
    lists visited per query) whose lists hold product-quantisation codes (:func:`pq_m`
    bytes a row), and whose shortlist of
    ``IVFPQ_REFINE_K_FACTOR × k`` rows is re-ranked with 8-bit scalar-quantised copies of the
    vectors (``IndexRefine``; one byte per dimension). No float32 vector is kept: scores and
    ``vectors()`` are the 8-bit reconstructions (error about 1e-3 on a cosine).

The thresholds come from ``benchmarks/scale.py``; its figures are in ``benchmarks/README.md``.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"

KINDS = ("flat", "hnsw", "ivfpq")
#: the ``IndexManifest.kind`` written for each kind ("faiss-flat-ip" is the historical default)
MANIFEST_KINDS = {"flat": "faiss-flat-ip", "hnsw": "faiss-hnsw-ip", "ivfpq": "faiss-ivfpq-sq8-l2"}

# The thresholds below are set from measurements of ``benchmarks/scale.py`` (2 cores, dimension
# 384): the figures, and the command that produced them, are in benchmarks/README.md ("Index kinds").

#: single-query latency (p95, in-process, one thread) that exact search must stay under
LATENCY_BUDGET_MS = 5.0
#: exact search while ``rows × dim`` stays under this (a flat scan costs one multiply-add per
#: stored float): 25,000 rows at dimension 384
FLAT_MAX_FLOATS = 25_000 * 384

#: HNSW links per node (2 × M on the bottom layer)
HNSW_M = 32
#: candidate list while building: higher = better graph, slower build (build time is linear in it)
HNSW_EF_CONSTRUCTION = 128
#: candidate list while searching (at least ``k``), up to :data:`HNSW_EF_SEARCH_ROWS` rows ...
HNSW_EF_SEARCH = 256
#: ... and above (recall@10 ≥ 0.98 at 1M rows)
HNSW_EF_SEARCH_LARGE = 1024
HNSW_EF_SEARCH_ROWS = 100_000
#: a filtered graph search keeps only the allowed share of the nodes it visits, so its candidate
#: list is widened to ``ef / share``, at most this
HNSW_EF_FILTERED_MAX = 4096
#: filtered search scans the allowed rows exactly when ``allowed × share ≤ ratio × ef`` (the scan's
#: cost per allowed row against the widened graph search's cost per ``ef / share``)
HNSW_FILTER_EXACT_RATIO = 40

#: dimensions per PQ sub-quantiser: 384-d rows get 96 one-byte codes (see ``pq_m``)
IVFPQ_DIMS_PER_CODE = 4
#: bits per PQ code
IVFPQ_NBITS = 8
#: share of the inverted lists visited per query (``nprobe = ⌈0.4 · nlist⌉``): embedding-like data
#: needs a wide probe for queries far from every stored topic
IVFPQ_PROBE_FRACTION = 0.4
#: the PQ shortlist is ``k × IVFPQ_REFINE_K_FACTOR`` rows, re-ranked with the 8-bit vectors
IVFPQ_REFINE_K_FACTOR = 16
#: exact filtered search gathers the allowed rows when they are at most 1/32 of the index, else
#: scans the index's storage skipping the others (cheaper than copying many rows)
EXACT_GATHER_RATIO = 32
#: searches of fewer queries than this run on one OpenMP thread: a single query gains nothing
#: from a thread team and, on a loaded machine, waits for it
PARALLEL_MIN_QUERIES = 16
#: fewest rows to train the IVF-PQ quantisers on (256 PQ centroids need a few thousand points)
IVFPQ_MIN_ROWS = 1_000
#: k-means training sample: this many points per inverted list at most
IVF_TRAIN_PER_LIST = 40


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
    #: live rows (``size`` counts the tombstones of removed texts too; -1: not recorded)
    live: int = -1

    @property
    def encoder_key(self) -> str:
        return f"{self.encoder}@{self.encoder_version}"


# -- policy ---------------------------------------------------------------------------------
def flat_max_rows(dim: int) -> int:
    """Most rows that exact search scans within :data:`LATENCY_BUDGET_MS` at dimension ``dim``."""
    return FLAT_MAX_FLOATS // max(1, int(dim))


def pq_m(dim: int) -> int:
    """PQ sub-quantisers for ``dim``: the largest divisor of ``dim`` up to ``dim / IVFPQ_DIMS_PER_CODE``."""
    return max(m for m in range(1, max(1, dim // IVFPQ_DIMS_PER_CODE) + 1) if dim % m == 0)


def hnsw_ef_search(n_rows: int) -> int:
    """HNSW search candidate list for an index of ``n_rows``: recall@10 ≥ 0.98 in the benchmark."""
    return HNSW_EF_SEARCH if n_rows <= HNSW_EF_SEARCH_ROWS else HNSW_EF_SEARCH_LARGE


def filtered_plan(kind: str, n_rows: int, n_allowed: int, dim: int) -> str:
    """How ``FaissIndex.search`` answers a filter of ``n_allowed`` rows: ``"exact"`` (a scan of
    the allowed rows) or ``"index"`` (the approximate index with a widened search)."""
    if kind == "flat" or n_allowed <= flat_max_rows(dim):  # flat: its scan skips the other rows
        return "exact"
    share = n_allowed / max(1, n_rows)
    if kind == "hnsw" and n_allowed * share <= HNSW_FILTER_EXACT_RATIO * hnsw_ef_search(n_rows):
        return "exact"
    return "index"


def ivf_nlist(n_rows: int) -> int:
    """Inverted lists for ``n_rows``: about 4·√n, with at least 39 training points per list."""
    return max(1, min(int(4 * math.sqrt(max(n_rows, 1))), n_rows // 39))


def ivf_nprobe(nlist: int) -> int:
    """Inverted lists visited per query: :data:`IVFPQ_PROBE_FRACTION` of ``nlist``."""
    return max(1, math.ceil(nlist * IVFPQ_PROBE_FRACTION))


def estimate_bytes(kind: str, n_rows: int, dim: int) -> int:
    """Memory the FAISS index of ``kind`` takes for ``n_rows`` vectors of ``dim`` (±10 %)."""
    if kind == "flat":
        return n_rows * dim * 4
    if kind == "hnsw":
        # float32 vectors + bottom layer 2·M int32 links + upper layers (1/M of the nodes, M links
        # each, ≈ 4 bytes a row) + level and offset per node
        return n_rows * (dim * 4 + 2 * HNSW_M * 4 + 4 + 4 + 8)
    if kind == "ivfpq":
        # PQ code + 64-bit id in the lists, 8-bit copy for re-ranking, centroids, PQ codebooks
        return n_rows * (pq_m(dim) + 8 + dim) + ivf_nlist(n_rows) * dim * 4 + dim * (1 << IVFPQ_NBITS) * 4
    raise ValueError(f"index kind {kind!r} is not one of {', '.join(KINDS)}")


def choose_kind(n_rows: int, dim: int, memory_budget_bytes: int | None = None) -> str:
    """The index kind for ``n_rows`` vectors of dimension ``dim``.

    ``flat`` (exact) while a scan stays within the latency budget (``n_rows ≤ flat_max_rows(dim)``)
    and fits the memory budget; above, ``hnsw`` if its vectors and graph fit
    ``memory_budget_bytes`` (``None``: no limit); else ``ivfpq``. Raises ``MemoryError`` when not
    even ``ivfpq`` fits.
    """
    if n_rows < 0 or dim <= 0:
        raise ValueError(f"need n_rows ≥ 0 and dim > 0, got n_rows={n_rows}, dim={dim}")

    def fits(kind: str) -> bool:
        return memory_budget_bytes is None or estimate_bytes(kind, n_rows, dim) <= memory_budget_bytes

    if n_rows <= flat_max_rows(dim) and fits("flat"):
        return "flat"
    if fits("hnsw"):
        return "hnsw"
    if n_rows >= IVFPQ_MIN_ROWS and fits("ivfpq"):
        return "ivfpq"
    raise MemoryError(
        f"{n_rows} vectors of dimension {dim} do not fit {memory_budget_bytes} bytes "
        f"(ivfpq needs about {estimate_bytes('ivfpq', n_rows, dim)})"
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


def _top_k(scores: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
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


def _l2_to_ip(queries: np.ndarray, sq_l2: np.ndarray) -> np.ndarray:
    """Inner products from squared L2 distances to unit rows: ‖q − x‖² = ‖q‖² + 1 − 2·q·x."""
    return (np.einsum("ij,ij->i", queries, queries)[:, None] + 1.0 - sq_l2) / 2.0


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
    """Inner-product FAISS index over unit vectors, of kind ``flat``, ``hnsw`` or ``ivfpq``.

    ``FaissIndex(vectors)`` chooses the kind by size (:func:`choose_kind`, no memory budget);
    ``FaissIndex(vectors, kind="hnsw")`` forces it; ``FaissIndex(dim=384)`` is an empty flat
    index. Filtered searches (``allowed``) over few rows, or that the approximate index answers
    incompletely, are answered exactly over the allowed rows.
    """

    def __init__(self, vectors: np.ndarray | None = None, dim: int | None = None, kind: str | None = None) -> None:
        import faiss

        self._faiss = faiss
        if vectors is not None:
            vectors = np.ascontiguousarray(vectors, dtype=np.float32)
            dim = vectors.shape[1]
        if dim is None:
            raise ValueError("FaissIndex needs vectors or a dimension")
        n = 0 if vectors is None else len(vectors)
        if kind is None:
            kind = choose_kind(n, int(dim))
        if kind not in KINDS:
            raise ValueError(f"index kind {kind!r} is not one of {', '.join(KINDS)}")
        self.kind = kind
        self.index = self._build(kind, int(dim), vectors)
        self._configure()

    # -- building -----------------------------------------------------------------------------
    def _build(self, kind: str, dim: int, vectors: np.ndarray | None):
        faiss = self._faiss
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        else:
            n = 0 if vectors is None else len(vectors)
            if n < IVFPQ_MIN_ROWS:
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
            index.train(vectors[np.sort(np.random.default_rng(0).choice(n, n_train, replace=False))])  # type: ignore[index]  # n ≥ IVFPQ_MIN_ROWS: vectors given
        if vectors is not None and len(vectors):
            set_threads(len(vectors))
            index.add(vectors)
        return index

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
        copy = type(self).__new__(type(self))
        copy._faiss = self._faiss
        copy.kind = self.kind
        copy.index = self._faiss.clone_index(self.index)
        copy._configure()
        return copy

    def _configure(self) -> None:
        """Set the search-time parameters (also after ``load``: they are constants, not data)."""
        faiss = self._faiss
        self._flat_view: np.ndarray | None = None
        if self.kind == "hnsw":
            self.index.hnsw.efSearch = hnsw_ef_search(len(self))
        elif self.kind == "ivfpq":
            self.index.k_factor = IVFPQ_REFINE_K_FACTOR
            self._ivf = faiss.downcast_index(self.index.base_index)
            self._ivf.nprobe = self._nprobe = ivf_nprobe(self._ivf.nlist)
            self._sq = faiss.downcast_index(self.index.refine_index)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def nlist(self) -> int | None:
        """Inverted lists of an ``ivfpq`` index (``None`` for the others)."""
        return int(self._ivf.nlist) if self.kind == "ivfpq" else None

    @property
    def manifest_kind(self) -> str:
        return MANIFEST_KINDS[self.kind]

    # -- stored vectors -------------------------------------------------------------------------
    def _rows(self, ids: np.ndarray | None = None) -> np.ndarray:
        """Stored vectors of ``ids`` (all rows when ``None``) as float32, a copy.

        Exact for ``flat`` and ``hnsw``; for ``ivfpq`` the 8-bit reconstructions.
        """
        n, d = len(self), self.dim
        if n == 0:
            return np.zeros((0, d), dtype=np.float32)
        if self.kind == "ivfpq":
            codes = self._faiss.rev_swig_ptr(self._sq.codes.data(), n * self._sq.code_size).reshape(n, self._sq.code_size)
            return self._sq.sa_decode(np.ascontiguousarray(codes if ids is None else codes[ids]))
        if self._flat_view is None:
            storage = self.index if self.kind == "flat" else self._faiss.downcast_index(self.index.storage)
            # a view into the index's own storage (no copy); valid while self.index lives
            self._flat_view = self._faiss.rev_swig_ptr(storage.get_xb(), n * d).reshape(n, d)  # type: ignore[union-attr]  # flat storage
        return np.array(self._flat_view if ids is None else self._flat_view[ids], dtype=np.float32)

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
        if copy or self.kind == "ivfpq" or len(self) == 0:
            return self._rows()
        self._rows(np.zeros(0, dtype=np.int64))  # creates the view
        view = self._flat_view.view()  # type: ignore[union-attr]  # created just above
        view.flags.writeable = False
        return view

    # -- search ---------------------------------------------------------------------------------
    def _params(self, sel=None, share: float = 1.0):
        """Search parameters; ``share``: the allowed fraction of the rows when filtering."""
        faiss = self._faiss
        if self.kind == "flat":
            return None if sel is None else faiss.SearchParameters(sel=sel)
        extra = {} if sel is None else {"sel": sel}
        if self.kind == "hnsw":
            ef = hnsw_ef_search(len(self))
            return faiss.SearchParametersHNSW(efSearch=min(max(ef, HNSW_EF_FILTERED_MAX), math.ceil(ef / share)), **extra)
        # a filter keeps fewer rows per list: visit more lists (1/√share as many; the lists skip
        # the other rows without scoring them)
        nprobe = min(self._ivf.nlist, math.ceil(self._nprobe / math.sqrt(share)))
        ivf = faiss.SearchParametersIVF(nprobe=nprobe, **extra)
        # the faiss wrapper keeps ``ivf`` (and ``sel``) referenced by the parameters
        return faiss.IndexRefineSearchParameters(k_factor=IVFPQ_REFINE_K_FACTOR, base_index_params=ivf)

    def _selector(self, mask: np.ndarray):
        """A FAISS selector of the rows set in ``mask``: a bitmap, built in about a millisecond
        for 1M rows (an ``IDSelectorBatch`` of 500k ids takes far longer)."""
        # the faiss wrapper keeps the bitmap alive as long as the selector
        return self._faiss.IDSelectorBitmap(np.packbits(mask, bitorder="little"))  # type: ignore[call-arg, arg-type]  # faiss's Python wrapper takes the array

    def _exact(self, queries: np.ndarray, k: int, mask: np.ndarray, n_allowed: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact search over the stored vectors of the ``n_allowed`` rows set in ``mask``.

        Few rows: gathered and scored with NumPy. Many: a scan of the index's own storage (the
        float32 vectors, or the 8-bit copies for ``ivfpq``) that skips the other rows, with no copy.
        """
        if n_allowed * EXACT_GATHER_RATIO <= len(self):
            rows = np.flatnonzero(mask)
            return _top_k(queries @ self._rows(rows).T, rows, k)
        faiss = self._faiss
        if self.kind == "ivfpq":
            storage = self._sq
        else:
            storage = self.index if self.kind == "flat" else faiss.downcast_index(self.index.storage)
        scores, ids = storage.search(queries, k, params=faiss.SearchParameters(sel=self._selector(mask)))
        ids = ids.astype(np.int64)
        if self.kind == "ivfpq":
            scores = _l2_to_ip(queries, scores)
        return np.where(ids >= 0, scores, -np.inf).astype(np.float32), ids

    def _faiss_search(self, queries: np.ndarray, k: int, sel=None, share: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = self.index.search(queries, k, params=self._params(sel, share))
        ids = ids.astype(np.int64)
        if self.kind == "ivfpq":
            scores = _l2_to_ip(queries, scores)
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
        if self.kind == "flat":
            return self._faiss_search(queries, k, self._selector(mask))
        if filtered_plan(self.kind, len(self), n_allowed, self.dim) == "exact":
            return self._exact(queries, k, mask, n_allowed)  # a scan of few rows, or of a small share, is cheaper
        scores, ids = self._faiss_search(queries, k, self._selector(mask), n_allowed / len(self))
        # a narrow filter can starve the graph / the visited lists: complete those queries exactly
        short = np.flatnonzero((ids >= 0).sum(axis=1) < min(k, n_allowed))
        if len(short):
            scores[short], ids[short] = self._exact(queries[short], k, mask, n_allowed)
        return scores, ids

    # -- persistence ----------------------------------------------------------------------------
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
                f"the index in {folder} was built with encoder {manifest.encoder_key}, "
                f"not {expect_encoder}: rebuild it with `matcher index`"
            )
        kind = next((k for k, label in MANIFEST_KINDS.items() if label == manifest.kind), None)
        if kind is None:
            raise IndexMismatchError(f"the index in {folder} is of unknown kind {manifest.kind!r}; rebuild it with `matcher index`")
        self = cls.__new__(cls)
        import faiss

        self._faiss = faiss
        self.kind = kind
        self.index = faiss.read_index(str(folder / VECTORS))
        expected = {"flat": faiss.IndexFlat, "hnsw": faiss.IndexHNSWFlat, "ivfpq": faiss.IndexRefine}[kind]
        if not isinstance(self.index, expected):
            raise IndexMismatchError(f"the index in {folder} is a {type(self.index).__name__}, not {manifest.kind}; rebuild it")
        if self.index.d != manifest.dim or self.index.ntotal != manifest.size:  # type: ignore[attr-defined]  # a faiss index
            raise IndexMismatchError(f"the index in {folder} does not match its manifest (dim or size); rebuild it")
        self._configure()
        return self, manifest


def new_manifest(encoder_name: str, encoder_version: str, dim: int, size: int, catalogue_hash: str, kind: str = "flat") -> IndexManifest:
    """A manifest for a new index (``kind``: one of ``KINDS``; ``FaissIndex.save`` sets it too)."""
    import faiss

    if kind not in MANIFEST_KINDS:
        raise ValueError(f"index kind {kind!r} is not one of {', '.join(KINDS)}")
    return IndexManifest(
        encoder=encoder_name,
        encoder_version=encoder_version,
        dim=dim,
        size=size,
        catalogue_hash=catalogue_hash,
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        kind=MANIFEST_KINDS[kind],
        faiss_version=getattr(faiss, "__version__", ""),
    )
