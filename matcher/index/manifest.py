"""What an index was built from, written beside it: enough to refuse it when something changed."""

from __future__ import annotations

import time
from dataclasses import dataclass

from matcher.index.policy import KINDS

MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"

#: the ``IndexManifest.kind`` written for each kind ("faiss-flat-ip" is the historical default)
MANIFEST_KINDS = {"flat": "faiss-flat-ip", "hnsw": "faiss-hnsw-ip", "ivfpq": "faiss-ivfpq-sq8-l2"}


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
