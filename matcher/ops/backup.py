"""Backup and restore of what a deployment keeps: catalogue database, MLflow store, live indexes.

``backup`` writes one ``.tar.gz``: consistent snapshots of the SQLite databases (SQLite's online
backup API, safe while the service runs), the MLflow artefacts and registry copies, the live
version of each index (``CURRENT`` and its folder) and, unless left out, the vector cache. A
``backup.json`` inside lists what was saved. ``restore`` checks that file, extracts into a
temporary folder beside ``data_dir`` (no member may leave it) and moves each part into place.
A database other than SQLite is refused with a pointer to its own dump tool.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tarfile
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

from matcher.index.store import CURRENT
from matcher.settings import Settings

FORMAT = "matcher-backup/1"
MANIFEST = "backup.json"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done safely; the message says why."""


def _sqlite_path(url: str, what: str) -> Path:
    if not url.startswith("sqlite:///"):
        raise BackupError(f"{what}: {url.split(':', 1)[0]} database — back it up with its own tool (pg_dump …); only SQLite is built in")
    return Path(url.removeprefix("sqlite:///"))


def _snapshot(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (online backup API)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def backup(settings: Settings, out: str | Path, with_cache: bool = True) -> dict[str, Any]:
    """Write the backup archive ``out``; returns its manifest."""
    out = Path(out)
    data = settings.data_dir
    contents: dict[str, Any] = {"format": FORMAT, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "parts": []}
    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.exists() else None) as tmp:
        stage = Path(tmp) / "backup"
        stage.mkdir()
        catalogue = _sqlite_path(settings.db_url, "MATCHER_DATABASE_URL")
        if not catalogue.is_file():
            raise BackupError(f"no catalogue database at {catalogue}: nothing to back up")
        _snapshot(catalogue, stage / "catalogue.sqlite")
        contents["parts"].append("catalogue.sqlite")
        mlflow_db = _sqlite_path(settings.tracking_uri, "MATCHER_MLFLOW_URI")
        if mlflow_db.is_file():
            _snapshot(mlflow_db, stage / "mlflow.sqlite")
            contents["parts"].append("mlflow.sqlite")
        for name in ("mlartifacts", "models"):
            if (data / name).is_dir():
                shutil.copytree(data / name, stage / name)
                contents["parts"].append(name)
        indexes = []
        for root in sorted(p for p in settings.index_dir.glob("*") if (p / CURRENT).is_file()):
            live = (root / CURRENT).read_text().strip()
            if (root / live).is_dir():
                shutil.copytree(root / live, stage / "index" / root.name / live)
                (stage / "index" / root.name / CURRENT).write_text(live + "\n")
                indexes.append(f"{root.name}/{live}")
        if indexes:
            contents["parts"].append("index")
            contents["indexes"] = indexes
        cache = settings.cache_dir / "vectors.sqlite"
        if with_cache and cache.is_file():
            _snapshot(cache, stage / "cache" / "vectors.sqlite")
            contents["parts"].append("cache")
        (stage / MANIFEST).write_text(json.dumps(contents, indent=2))
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(stage, arcname="backup")
        partial.replace(out)
    return contents


def restore(settings: Settings, archive: str | Path, force: bool = False) -> dict[str, Any]:
    """Restore ``archive`` into ``settings.data_dir``; refuses to overwrite a catalogue unless ``force``.

    Stop the service first: it keeps the databases open.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"{archive}: no such backup file")
    data = settings.data_dir
    catalogue = _sqlite_path(settings.db_url, "MATCHER_DATABASE_URL")
    mlflow_db = _sqlite_path(settings.tracking_uri, "MATCHER_MLFLOW_URI")
    if catalogue.exists() and not force:
        raise BackupError(f"{catalogue} exists: restoring would replace it (use --force, with the service stopped)")
    data.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data.parent) as tmp:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(tmp, filter="data")  # refuses absolute paths, "..", links out of tmp
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:  # a truncated gzip stream ends in EOFError
            raise BackupError(f"{archive}: not a readable backup ({type(exc).__name__}: {exc or 'truncated'})") from None
        stage = Path(tmp) / "backup"
        try:
            contents = json.loads((stage / MANIFEST).read_text())
        except (OSError, ValueError):
            raise BackupError(f"{archive}: no {MANIFEST} inside: not a matcher backup") from None
        if contents.get("format") != FORMAT:
            raise BackupError(f"{archive}: format {contents.get('format')!r}, expected {FORMAT}")
        moves = [
            (stage / "catalogue.sqlite", catalogue),
            (stage / "mlflow.sqlite", mlflow_db),
            (stage / "cache" / "vectors.sqlite", settings.cache_dir / "vectors.sqlite"),
        ]
        moves += [(stage / name, data / name) for name in ("mlartifacts", "models")]
        moves += [(p, settings.index_dir / p.name) for p in sorted((stage / "index").glob("*"))] if (stage / "index").is_dir() else []
        for source, target in moves:
            if not source.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            shutil.move(str(source), str(target))
    return contents
