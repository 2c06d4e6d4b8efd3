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

One module per kind (``flat``, ``hnsw``, ``ivfpq``) on the shared ``base``; a new kind is a new
module registered here. ``FaissIndex(vectors)`` builds the kind the policy chooses for the size (``choose_kind``);
``FaissIndex(vectors, kind="hnsw")`` forces one; ``FaissIndex(dim=384)`` is an empty flat index.
"""

from matcher.index.kinds.base import FaissIndex, set_threads
from matcher.index.kinds.flat import FlatIndex
from matcher.index.kinds.hnsw import HNSWIndex
from matcher.index.kinds.ivfpq import IVFPQIndex
from matcher.index.oracle import NumpyIndex

__all__ = ["FaissIndex", "FlatIndex", "HNSWIndex", "IVFPQIndex", "NumpyIndex", "set_threads"]
