"""Backup and restore by the documented commands: what was stored comes back, nothing else is touched."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from matcher.data.catalogue import Catalogue
from matcher.index.store import IndexStore

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "MATCHER_ENCODER": "hashing", "MATCHER_RERANKER": "none", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}


def _matcher(data: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "matcher.cli", "--data-dir", str(data), *args], env=ENV, capture_output=True, text=True)


def test_backup_then_restore_brings_everything_back(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert _matcher(data, "index").returncode == 0
    assert _matcher(data, "keys", "create", "--name", "x", "--role", "staff").returncode == 0
    archive = tmp_path / "sauvegarde.tar.gz"
    done = _matcher(data, "backup", "--out", str(archive))
    assert done.returncode == 0, done.stderr
    assert "catalogue.sqlite" in done.stdout and "index" in done.stdout

    catalogue = Catalogue(f"sqlite:///{data / 'catalogue.sqlite'}")
    live_before = IndexStore(data / "index" / "hashing").current().name
    catalogue.delete_need("demo-n01")
    catalogue.engine.dispose()
    refused = _matcher(data, "restore", str(archive))
    assert refused.returncode != 0 and "--force" in refused.stderr

    restored = _matcher(data, "restore", str(archive), "--force")
    assert restored.returncode == 0, restored.stderr
    catalogue = Catalogue(f"sqlite:///{data / 'catalogue.sqlite'}")
    assert catalogue.need("demo-n01") is not None and catalogue.counts()["needs"] == 25
    assert IndexStore(data / "index" / "hashing").current().name == live_before
    assert _matcher(data, "keys", "list").stdout.count("staff") == 1
    fresh = tmp_path / "elsewhere"
    assert _matcher(fresh, "restore", str(archive)).returncode == 0  # onto an empty machine
    assert Catalogue(f"sqlite:///{fresh / 'catalogue.sqlite'}").counts()["suppliers"] == 80


def test_restore_refuses_a_hostile_or_foreign_archive(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        payload = b"pwned"
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    out = _matcher(tmp_path / "data", "restore", str(evil))
    assert out.returncode != 0 and not (tmp_path.parent / "escaped.txt").exists()
    plain = tmp_path / "plain.tar.gz"
    with tarfile.open(plain, "w:gz") as tar:
        tar.add(REPO / "README.md", arcname="backup/README.md")
    out = _matcher(tmp_path / "data", "restore", str(plain))
    assert out.returncode != 0 and "not a matcher backup" in out.stderr
