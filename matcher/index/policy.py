"""The policy that chooses an index kind, and the sizing rules of each kind.

``choose_kind`` picks ``flat`` (exact) while a scan stays within the latency budget, ``hnsw``
above it, ``ivfpq`` when a memory budget binds; ``filtered_plan`` decides how a filtered search is
answered. Every threshold comes from ``benchmarks/scale.py`` (figures in ``benchmarks/README.md``).
No code outside this module branches on the size of an index.
"""

from __future__ import annotations

import math

KINDS = ("flat", "hnsw", "ivfpq")

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
