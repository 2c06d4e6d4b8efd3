"""Versions of an encoder's index on disk, published atomically.

Layout: ``<index_dir>/<encoder>/<version>/`` (``vectors.faiss`` + ``manifest.json``) and a
``CURRENT`` file naming the live version. A new version is written under ``.tmp-<version>``,
flushed, renamed into place, and only then is ``CURRENT`` replaced (``os.replace`` of a
flushed temporary file): a process killed at any moment leaves the previous version live
and, at worst, a ``.tmp-*`` folder that the next writer removes. Writers take a file lock,
so two re-indexes never interleave; readers never need one. Two versions are kept: the live
one and the one it replaced (a manual roll-back is writing its name into ``CURRENT``).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from matcher.index.keyed import KeyedIndex
from matcher.index.manifest import IndexManifest

log = logging.getLogger(__name__)
CURRENT = "CURRENT"
LOCK = ".lock"
TMP_PREFIX = ".tmp-"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(folder)


class IndexStore:
    """The index versions of one encoder under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._holding = False

    def current(self) -> Path | None:
        """The live version's folder, or ``None`` when none was published."""
        try:
            name = (self.root / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        folder = self.root / name
        return folder if name and folder.is_dir() else None

    def load(self, expect_encoder: str | None = None) -> tuple[KeyedIndex, IndexManifest, str]:
        """The live index, its manifest and its version name (``FileNotFoundError`` if none)."""
        folder = self.current()
        if folder is None:
            raise FileNotFoundError(f"no published index in {self.root}")
        index, manifest = KeyedIndex.load(folder, expect_encoder=expect_encoder)
        return index, manifest, folder.name

    @contextlib.contextmanager
    def writer(self) -> Iterator[None]:
        """The writers' lock (re-entrant within this object): read the live version, update it,
        publish, without another process publishing in between."""
        if self._holding:
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / LOCK).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            self._holding = True
            try:
                yield
            finally:
                self._holding = False
                fcntl.flock(handle, fcntl.LOCK_UN)

    def publish(self, index: KeyedIndex, manifest: IndexManifest, extra: Callable[[Path], object] | None = None) -> str:
        """Write a new version beside the live one, then make it live; returns its name.

        ``extra(folder)`` writes what later stages keep with this version (the evidence rows'
        hubness) into its folder, before it is flushed and made live."""
        with self.writer():
            self._remove_partial()
            previous = self.current()
            name = f"v{manifest.created_at.replace('-', '').replace(':', '').replace('T', '-')[:15]}-{manifest.catalogue_hash[:8]}-{secrets.token_hex(3)}"
            tmp = self.root / f"{TMP_PREFIX}{name}"
            # each step is logged as it starts ("publish: …"): what a crash test waits for before killing
            log.info("publish: writing %s", tmp.name)
            index.save(tmp, manifest)
            if extra is not None:
                extra(tmp)
            log.info("publish: flushing %s", tmp.name)
            _fsync_tree(tmp)
            log.info("publish: renaming %s into place", tmp.name)
            os.rename(tmp, self.root / name)
            _fsync_dir(self.root)
            log.info("publish: pointing %s at %s", CURRENT, name)
            pointer = self.root / f"{TMP_PREFIX}{CURRENT}"
            with pointer.open("w", encoding="utf-8") as handle:
                handle.write(name + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(pointer, self.root / CURRENT)
            _fsync_dir(self.root)
            log.info("publish: %s is live", name)
            self._prune(keep={name, previous.name if previous else name})
            return name

    def versions(self) -> list[str]:
        """Published version names, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def _remove_partial(self) -> None:
        for path in self.root.glob(f"{TMP_PREFIX}*"):
            log.info("removing %s (left by an interrupted re-index)", path)
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def _prune(self, keep: set[str]) -> None:
        """Remove every version but the live one and the one it replaced (also orphans of a crash)."""
        for name in self.versions():
            if name not in keep:
                shutil.rmtree(self.root / name, ignore_errors=True)
