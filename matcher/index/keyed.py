"""The dense index of evidence texts under stable keys, updated in place.

Each evidence text has a key: a 64-bit hash of its supplier id and the text given to the
encoder (:func:`evidence_key`). The FAISS index is append-only: a row ("slot") is written once
and never moves, and :class:`KeyedIndex` maps keys to slots. A catalogue change is applied by
:meth:`KeyedIndex.synced`:

- texts whose key is already live keep their slot (nothing encoded, nothing moved);
- new or edited texts are encoded (through the vector cache) and appended in place — a flat
  index appends rows, HNSW links them into its graph, IVF-PQ encodes them with its quantisers;
- removed or edited-away texts become tombstones: their slots stay in FAISS but every search
  skips them (a FAISS selector of the live slots).

The update is made on a copy (``faiss.clone_index``, a memory copy, not a rebuild), so readers
keep searching the version they hold. The index is rebuilt from the live vectors only when it
pays: when tombstones exceed :data:`COMPACT_DEAD_SHARE` of the slots, when the catalogue's size
calls for another index kind (:func:`~matcher.index.policy.choose_kind`), or when an IVF-PQ index
has grown far beyond what its lists were trained for.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matcher.index.kinds import FaissIndex
from matcher.index.manifest import IndexManifest, IndexMismatchError
from matcher.index.policy import choose_kind, ivf_nlist

SLOTS = "slots.npz"

#: rebuild from the live vectors when tombstones pass this share of the slots (searches widen
#: HNSW's candidate list by 1 / live share, so a quarter of dead slots costs a third more work)
COMPACT_DEAD_SHARE = 0.25
#: rebuild an IVF-PQ index when the size it calls for has this many times its inverted lists
IVF_REGROW_FACTOR = 2.0


def evidence_key(supplier_id: str, embed_text: str) -> int:
    """The stable key of one evidence text: 64 bits of BLAKE2b over its supplier and text."""
    digest = hashlib.blake2b(f"{supplier_id}\x00{embed_text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


@dataclass
class SyncStats:
    """What :meth:`KeyedIndex.synced` did."""

    added: int = 0  # texts appended (encoded or read from the vector cache)
    removed: int = 0  # slots turned into tombstones
    kept: int = 0  # live texts left in place
    rebuilt: str = ""  # why the index was rebuilt ("" = updated in place)

    def as_dict(self) -> dict[str, int | str]:
        return {"added": self.added, "removed": self.removed, "kept": self.kept, "rebuilt": self.rebuilt}


class KeyedIndex:
    """A :class:`~matcher.index.kinds.FaissIndex` whose slots are addressed by stable keys, with tombstones.

    Searches return slot ids; :meth:`slots_of` maps keys to their live slots.
    """

    def __init__(self, index: FaissIndex, keys: np.ndarray, alive: np.ndarray | None = None) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        if len(keys) != len(index):
            raise ValueError(f"{len(keys)} keys for an index of {len(index)} rows")
        self.index = index
        self.keys = keys
        self.alive = np.ones(len(keys), dtype=bool) if alive is None else np.asarray(alive, dtype=bool)
        self.n_live = int(np.count_nonzero(self.alive))
        self._slot: dict[int, int] | None = None

    # -- building -------------------------------------------------------------------------------
    @classmethod
    def build(
        cls, keys: Sequence[int] | np.ndarray, vectors: np.ndarray, dim: int, kind: str | None = None, memory_budget: int | None = None
    ) -> KeyedIndex:
        """A new index of ``vectors`` under ``keys`` (distinct); the kind is chosen by size unless given."""
        keys = np.asarray(keys, dtype=np.int64)
        if len(np.unique(keys)) != len(keys):
            raise ValueError("evidence keys must be distinct")
        kind = kind or choose_kind(len(keys), dim, memory_budget)
        index = FaissIndex(vectors, kind=kind) if len(keys) else FaissIndex(dim=dim)
        return cls(index, keys)

    def synced(
        self,
        keys: Sequence[int] | np.ndarray,
        encode: Callable[[np.ndarray], np.ndarray],
        memory_budget: int | None = None,
    ) -> tuple[KeyedIndex, SyncStats]:
        """An index holding exactly ``keys`` (distinct), with ``self`` left untouched.

        ``encode(keys)`` returns the vectors of keys not live here (in that order). Returns
        ``self`` when nothing changed.
        """
        wanted = np.asarray(keys, dtype=np.int64)
        if len(np.unique(wanted)) != len(wanted):
            raise ValueError("evidence keys must be distinct")
        live_keys = self.keys[self.alive]
        new = wanted[~np.isin(wanted, live_keys)]
        gone = self.alive & ~np.isin(self.keys, wanted)
        stats = SyncStats(added=len(new), removed=int(np.count_nonzero(gone)), kept=len(wanted) - len(new))
        if not len(new) and not stats.removed:
            return self, stats
        n_slots = len(self.keys) + len(new)
        dead = len(self.keys) - self.n_live + stats.removed
        why = self._rebuild_reason(len(wanted), n_slots, dead, memory_budget)
        new_vectors = encode(new) if len(new) else np.zeros((0, self.index.dim), np.float32)
        if why:
            kept_keys = live_keys[np.isin(live_keys, wanted)]
            kept_vectors = self.index.vectors_of(self.slots_of(kept_keys))
            stats.rebuilt = why
            return (
                KeyedIndex.build(
                    np.concatenate([kept_keys, new]),
                    np.concatenate([kept_vectors, new_vectors]),
                    self.index.dim,
                    memory_budget=memory_budget,
                ),
                stats,
            )
        index = self.index.clone()
        index.add(new_vectors)
        alive = np.concatenate([self.alive & ~gone, np.ones(len(new), dtype=bool)])
        return KeyedIndex(index, np.concatenate([self.keys, new]), alive), stats

    def _rebuild_reason(self, n_live: int, n_slots: int, dead: int, memory_budget: int | None) -> str:
        """Why the synced index should be rebuilt rather than updated in place ("" = it should not)."""
        if dead > COMPACT_DEAD_SHARE * n_slots:
            return f"{dead} tombstones of {n_slots} slots (> {COMPACT_DEAD_SHARE:.0%})"
        try:
            kind = choose_kind(n_live, self.index.dim, memory_budget)
        except MemoryError:
            kind = self.index.kind
        if kind != self.index.kind:
            return f"{n_live} rows call for a {kind} index, not {self.index.kind}"
        nlist = self.index.nlist
        if nlist is not None and ivf_nlist(n_live) > IVF_REGROW_FACTOR * nlist:
            return f"{n_live} rows outgrew the {nlist} inverted lists"
        return ""

    # -- reading --------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Live rows (tombstones excluded)."""
        return self.n_live

    @property
    def n_slots(self) -> int:
        return len(self.keys)

    @property
    def kind(self) -> str:
        return self.index.kind

    @property
    def dim(self) -> int:
        return self.index.dim

    def slots_of(self, keys: Sequence[int] | np.ndarray) -> np.ndarray:
        """The live slots of ``keys`` (``KeyError`` naming the first key that is not live)."""
        if self._slot is None:
            live = np.flatnonzero(self.alive)
            self._slot = dict(zip(self.keys[live].tolist(), live.tolist()))
        slot = self._slot
        try:
            return np.fromiter((slot[k] for k in np.asarray(keys, dtype=np.int64).tolist()), dtype=np.int64, count=len(keys))
        except KeyError as exc:
            raise KeyError(f"evidence key {exc.args[0]} is not in the index") from None

    def vectors_of(self, slots: np.ndarray) -> np.ndarray:
        """Stored vectors of ``slots`` (no copy of the rest of the index)."""
        return self.index.vectors_of(slots)

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best live slots per query among ``allowed`` slots (``None``: all live ones)."""
        if allowed is None:
            return self.index.search(queries, k, None if self.n_live == self.n_slots else self.alive)
        mask = np.zeros(self.n_slots, dtype=bool)
        mask[np.asarray(allowed, dtype=np.int64)] = True
        return self.index.search(queries, k, mask & self.alive)

    # -- persistence ----------------------------------------------------------------------------
    def save(self, folder: str | Path, manifest: IndexManifest) -> None:
        """Write the FAISS index, its manifest and the slot table (keys, tombstones)."""
        folder = Path(folder)
        manifest.live = self.n_live
        self.index.save(folder, manifest)
        tmp = folder / (SLOTS + ".tmp.npz")
        np.savez(tmp, keys=self.keys, alive=self.alive)
        os.replace(tmp, folder / SLOTS)

    @classmethod
    def load(cls, folder: str | Path, expect_encoder: str | None = None) -> tuple[KeyedIndex, IndexManifest]:
        """Read a saved index (``IndexMismatchError`` if built with another encoder or without slots)."""
        index, manifest = FaissIndex.load(folder, expect_encoder=expect_encoder)
        path = Path(folder) / SLOTS
        if not path.is_file():
            raise IndexMismatchError(f"the index in {folder} has no slot table ({SLOTS}); rebuild it with `matcher index`")
        with np.load(path) as slots:
            keys, alive = slots["keys"], slots["alive"]
        if len(keys) != len(index) or len(alive) != len(index):
            raise IndexMismatchError(f"the slot table in {folder} does not match its index; rebuild it with `matcher index`")
        return cls(index, keys, alive), manifest
