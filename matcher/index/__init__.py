"""Stage 3 — the dense index: FAISS kinds by size, stable keys for live updates, versions on disk.

``protocol`` (``VectorIndex``: what every index answers), ``kinds`` (``FaissIndex`` and one class per kind: ``FlatIndex``, ``HNSWIndex``, ``IVFPQIndex``),
``policy`` (``choose_kind`` by size and memory budget, every threshold), ``oracle`` (``NumpyIndex``,
the exact brute-force search the kinds are tested against), ``manifest`` (what an index was built
from), ``keyed`` (``KeyedIndex``: a stable key per evidence text, appends and tombstones in place of
a copy), ``store`` (``IndexStore``: versions published atomically, a writer lock, crash-safe). Vectors come from ``embeddings``; nothing here knows the
catalogue's records.
"""

from matcher.index.keyed import KeyedIndex, SyncStats, evidence_key
from matcher.index.kinds import FaissIndex, FlatIndex, HNSWIndex, IVFPQIndex
from matcher.index.manifest import IndexManifest, IndexMismatchError, new_manifest
from matcher.index.oracle import NumpyIndex
from matcher.index.policy import KINDS, choose_kind
from matcher.index.protocol import VectorIndex
from matcher.index.store import IndexStore

__all__ = [
    "KINDS",
    "FaissIndex",
    "FlatIndex",
    "HNSWIndex",
    "IVFPQIndex",
    "IndexManifest",
    "IndexMismatchError",
    "IndexStore",
    "KeyedIndex",
    "NumpyIndex",
    "SyncStats",
    "VectorIndex",
    "choose_kind",
    "evidence_key",
    "new_manifest",
]
