"""Live updates: suppliers added, replaced and deleted without re-encoding unchanged texts; index
versions published atomically; queries in flight during a swap all succeed; ``kill -9`` during a
re-index leaves the previous version serving and no corrupt file behind."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from live_server import serving

from matcher.app import Engine
from matcher.index.store import CURRENT, TMP_PREFIX, IndexStore
from matcher.settings import Settings
from service.app import create_app

REPO = Path(__file__).resolve().parents[1]


def _h(tokens: dict[str, str], who: str = "admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def test_add_replace_delete_a_supplier_live(keyed_app) -> None:
    client, tokens = keyed_app
    assert client.post("/admin/reindex", headers=_h(tokens)).status_code == 200  # earlier tests' changes made without re-indexing
    record = {
        "name": "Zéphyr Drones",
        "description": "Zéphyr conçoit des drones d'inspection des ouvrages d'art.",
        "region": "Bretagne",
        "segments": ["numerique"],
    }
    added = client.put("/admin/suppliers/live-1", json=record, headers=_h(tokens)).json()

    assert added["created"] and added["texts"] == {"encoded": 1, "from_cache": 0}  # only the new text is encoded
    # appended to the live index's copy, nothing rebuilt or even looked up again
    assert (
        added["index"]["added"] == 1 and added["index"]["removed"] == 0 and added["index"]["kept"] > 100 and added["index"]["rebuilt"] == ""
    )
    top = client.post("/match", json={"text": "drones d'inspection des ouvrages d'art", "k": 1}, headers=_h(tokens, "staff")).json()[
        "results"
    ][0]
    assert top["supplier_id"] == "live-1" and top["region"] == "Bretagne"

    replaced = client.put("/admin/suppliers/live-1", json={**record, "region": "Normandie"}, headers=_h(tokens)).json()
    assert not replaced["created"] and replaced["texts"]["encoded"] == 0  # same text: nothing re-encoded
    assert (replaced["index"]["added"], replaced["index"]["removed"]) == (0, 0)  # the index is unchanged
    assert replaced["catalogue"] == {"read": 1, "removed": 0}  # only the edited supplier was read again
    top = client.post("/match", json={"text": "drones d'inspection des ouvrages d'art", "k": 1}, headers=_h(tokens, "staff")).json()[
        "results"
    ][0]
    assert top["supplier_id"] == "live-1" and top["region"] == "Normandie"

    deleted = client.delete("/admin/suppliers/live-1", headers=_h(tokens)).json()
    assert deleted["index"]["removed"] == 1 and deleted["index"]["added"] == 0 and deleted["index"]["rebuilt"] == ""  # a tombstone
    results = client.post("/match", json={"text": "drones d'inspection des ouvrages d'art", "k": 10}, headers=_h(tokens, "staff")).json()[
        "results"
    ]
    assert "live-1" not in {r["supplier_id"] for r in results}
    assert client.delete("/admin/suppliers/live-1", headers=_h(tokens)).status_code == 404
    bad = client.put("/admin/suppliers/live-2", json={"name": "Sans preuve"}, headers=_h(tokens))
    assert bad.status_code == 422 and "description" in bad.text


def test_queries_in_flight_during_index_swaps_all_succeed(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", encoder="hashing", reranker="none")
    app = create_app(settings, engine=Engine.open(settings))
    with serving(app) as base:
        admin = app.state.keys.create("admin", "admin")[1]
        staff = {"Authorization": f"Bearer {app.state.keys.create('staff', 'staff')[1]}"}
        statuses: list[int] = []
        stop = threading.Event()

        def hammer() -> None:
            with httpx.Client(base_url=base, timeout=30) as http:
                while not stop.is_set():
                    statuses.append(
                        http.post("/match", json={"text": "téléconsultation pour les hôpitaux", "k": 5}, headers=staff).status_code
                    )

        workers = [threading.Thread(target=hammer, daemon=True) for _ in range(4)]
        for w in workers:
            w.start()
        versions = set()
        with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {admin}"}) as http:
            for i in range(4):
                record = {"name": f"Swap {i}", "description": f"Solution numéro {i} de téléconsultation pour les hôpitaux et les EHPAD."}
                resp = http.put(f"/admin/suppliers/swap-{i}", json=record)
                assert resp.status_code == 200
                versions.add(resp.json()["versions"]["index"])
        stop.set()
        for w in workers:
            w.join()
    assert len(versions) == 4 and len(statuses) > 20
    assert set(statuses) == {200}, f"{len([s for s in statuses if s != 200])} failed of {len(statuses)}"


def _catalogue(path: Path, n: int) -> None:
    rng = random.Random(0)
    words = "plateforme données santé énergie bâtiment drone cloud sécurité formation mobilité eau déchets".split()
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            text = " ".join(rng.choice(words) for _ in range(40))
            handle.write(
                json.dumps({"supplier_id": f"k{i:05d}", "name": f"Kill {i}", "description": f"{text} {i}"}, ensure_ascii=False) + "\n"
            )


@pytest.mark.slow  # five re-indexes of 4,000 suppliers in subprocesses
def test_kill_9_during_reindex_leaves_the_previous_version_serving(tmp_path: Path) -> None:
    env = {**os.environ, "MATCHER_ENCODER": "hashing", "MATCHER_RERANKER": "none", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    data = tmp_path / "data"
    cli = [sys.executable, "-m", "matcher.cli", "--data-dir", str(data)]
    subprocess.run([*cli, "index"], env=env, check=True, capture_output=True)
    store = IndexStore(data / "index" / "hashing")
    first = store.current()
    assert first is not None
    big = tmp_path / "big.jsonl"
    _catalogue(big, 4000)
    subprocess.run([*cli, "import", "--kind", "suppliers", str(big)], env=env, check=True, capture_output=True)
    # killed as soon as the child reports each step (its -v log lines): while encoding, then at each
    # step of publishing the new version — synchronised on what it says, never on a guessed delay
    killed_at = []
    for event in ("encoding ", "publish: writing", "publish: flushing", "publish: renaming", "publish: pointing"):
        proc = subprocess.Popen([*cli, "-v", "index"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        for line in proc.stderr:
            if event in line:
                proc.send_signal(signal.SIGKILL)
                killed_at.append(event)
                break
        proc.wait()
        assert killed_at[-1:] == [event], f"the re-index ended before reporting {event!r}"
        # killed at once, or — the last steps are short — it finished between its report and the signal
        assert proc.returncode in (-signal.SIGKILL, 0), proc.returncode
        # whatever the moment: CURRENT names a complete version that loads, with a consistent manifest
        index, manifest, name = store.load(expect_encoder=None)
        assert len(index) == manifest.size and (store.root / name / "manifest.json").is_file()
        assert not (store.root / CURRENT).read_text().startswith(TMP_PREFIX)
    assert len(killed_at) == 5
    done = subprocess.run([*cli, "index"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    index, manifest, name = store.load()
    assert manifest.size == len(index) > 4000
    assert not list(store.root.glob(f"{TMP_PREFIX}*")) and len(store.versions()) <= 2


@pytest.fixture(autouse=True)
def _no_leftover_threads():
    """Every server and client thread a test of this module starts is stopped before it ends."""
    before = set(threading.enumerate())
    yield
    # (AnyIO's pooled worker threads belong to a test client that outlives the test: not counted)
    left = [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.name.startswith("AnyIO worker")]
    for thread in left:
        thread.join(timeout=10)
    assert not [t.name for t in left if t.is_alive()], "threads left running"


@pytest.mark.parametrize("crash_at", ["save", "rename", "pointer", "replace"])
def test_a_crash_at_each_step_of_publishing_keeps_a_loadable_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_at: str
) -> None:
    """The same guarantee as the kill -9 test, at each step of ``IndexStore.publish`` deterministically."""
    import numpy as np

    from matcher.index import store as index_store
    from matcher.index.keyed import KeyedIndex
    from matcher.index.kinds import FaissIndex
    from matcher.index.manifest import new_manifest

    store = IndexStore(tmp_path / "idx")
    old = KeyedIndex(FaissIndex(np.eye(4, dtype=np.float32)), keys=[1, 2, 3, 4])
    store.publish(old, new_manifest("e", "1", 4, 4, "old-hash"))
    new = KeyedIndex(FaissIndex(np.eye(4, dtype=np.float32)[:3]), keys=[1, 2, 3])

    class Crash(Exception):
        pass

    def boom(*_args, **_kwargs):
        raise Crash

    if crash_at == "save":
        monkeypatch.setattr(FaissIndex, "save", boom)
    elif crash_at == "rename":
        monkeypatch.setattr(index_store.os, "rename", boom)
    elif crash_at == "pointer":
        monkeypatch.setattr(index_store, "_fsync_tree", boom)
    else:
        monkeypatch.setattr(index_store.os, "replace", boom)
    with pytest.raises(Crash):
        store.publish(new, new_manifest("e", "1", 4, 3, "new-hash"))
    monkeypatch.undo()
    index, manifest, _ = store.load()
    assert manifest.catalogue_hash == "old-hash" and len(index) == 4  # the previous version still serves
    store.publish(new, new_manifest("e", "1", 4, 3, "new-hash"))
    index, manifest, _ = store.load()
    assert manifest.catalogue_hash == "new-hash" and len(index) == 3
    assert not list(store.root.glob(f"{TMP_PREFIX}*"))
