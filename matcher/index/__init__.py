"""Stage 3 — the dense index: FAISS kinds by size, stable keys for live updates, versions on disk.

``kinds`` (flat / HNSW / IVF-PQ behind ``FaissIndex``, the NumPy oracle, ``choose_kind`` the policy
by size and memory, the manifest), ``keyed`` (``KeyedIndex``: a stable key per evidence text,
appends and tombstones in place of a copy), ``store`` (``IndexStore``: versions published
atomically, a writer lock, crash-safe). Vectors come from ``embeddings``; nothing here knows the
catalogue's records.
"""

from matcher.index.keyed import KeyedIndex, SyncStats, evidence_key
from matcher.index.kinds import KINDS, FaissIndex, IndexManifest, IndexMismatchError, NumpyIndex, choose_kind, new_manifest
from matcher.index.store import IndexStore

__all__ = [
    "KINDS",
    "FaissIndex",
    "IndexManifest",
    "IndexMismatchError",
    "IndexStore",
    "KeyedIndex",
    "NumpyIndex",
    "SyncStats",
    "choose_kind",
    "evidence_key",
    "new_manifest",
]
