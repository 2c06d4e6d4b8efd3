"""Live catalogue updates at scale: the keyed index updated in place against a full rebuild.

For each size (1k, 10k, 100k rows by default; ``--sizes …,1M`` adds the million) it builds the
index the project would choose (``KeyedIndex.build``: flat up to 25k rows, HNSW above) over
synthetic unit vectors shaped like the encoder's (``scale.EmbedLike``), then applies, one after
the other, the updates a catalogue sees, each as ``KeyedIndex.synced`` (a copy of the live index
with new texts appended and removed ones tombstoned) followed by ``save`` to a fresh folder (what
publishing a version writes):

- **add 1** — one new supplier text;
- **delete 1** — one text removed (a tombstone);
- **edit 100** — 100 texts replaced by new ones (100 tombstones, 100 appends);
- **churn** — ``--churn`` single-text edits applied one by one (every one published), then the
  recall@10 of the updated index against exact search over its live texts (tombstones must not
  cost recall) and its tombstone share.

The **rebuild** column is what the same change cost before: building the index from every live
vector (the vectors themselves come from the vector cache either way, so encoding is left out).
Figures are wall times on this machine (2 cores); memory is the process's resident set.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/live_update.py [--sizes 1k,10k,100k,1M] [--churn 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import EmbedLike, parse_size, recall, rss_bytes  # noqa: E402

from matcher.index.keyed import KeyedIndex  # noqa: E402
from matcher.index.manifest import new_manifest  # noqa: E402
from matcher.index.oracle import NumpyIndex  # noqa: E402

DIM = 384


@dataclass
class Result:
    rows: int
    kind: str
    build_s: float
    rss_mb: float
    add_1_s: float
    delete_1_s: float
    edit_100_s: float
    save_s: float
    churn: int
    churn_mean_s: float
    churn_recall10: float
    tombstone_share: float
    rebuilt: str


def _timed_sync(index: KeyedIndex, keys: np.ndarray, table: dict[int, np.ndarray], folder: Path) -> tuple[KeyedIndex, float, float, str]:
    """``synced`` then ``save``: (new index, seconds to update, seconds to save, rebuild reason)."""
    t0 = time.perf_counter()
    new, stats = index.synced(keys, lambda ks: np.stack([table[k] for k in ks.tolist()]))
    t1 = time.perf_counter()
    shutil.rmtree(folder, ignore_errors=True)
    new.save(folder, new_manifest("bench", "1", DIM, new.n_slots, "h", kind=new.kind))
    return new, t1 - t0, time.perf_counter() - t1, stats.rebuilt


def run(n: int, churn: int, seed: int, log) -> Result:
    rng = np.random.default_rng(seed)
    gen = EmbedLike(n, DIM, seed)
    vectors = gen.rows(n + 200 + churn, rng)
    table = dict(zip(range(n + 200 + churn), vectors))
    keys = np.arange(n, dtype=np.int64)
    log(f"{n:>9,} rows: building")
    t0 = time.perf_counter()
    index = KeyedIndex.build(keys, vectors[:n], DIM)
    build = time.perf_counter() - t0
    log(f"{n:>9,} rows: {index.kind} built in {build:.1f} s; updating")
    fresh = iter(range(n, n + 200 + churn))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "v"
        keys = np.append(keys, next(fresh))
        index, add_1, save, why = _timed_sync(index, keys, table, folder)
        keys = keys[1:]
        index, delete_1, _, _ = _timed_sync(index, keys, table, folder)
        keys = np.concatenate([keys[100:], [next(fresh) for _ in range(100)]])
        index, edit_100, _, _ = _timed_sync(index, keys, table, folder)
        times = []
        for _ in range(churn):
            keys = np.append(keys[1:], next(fresh))
            index, took, saved, reason = _timed_sync(index, keys, table, folder)
            times.append(took + saved)
            why = why or reason
    queries = gen.rows(200, rng)
    live = index.keys[index.alive]
    _, truth = NumpyIndex(np.stack([table[k] for k in live.tolist()])).search(queries, 10)
    _, slots = index.search(queries, 10)
    found = np.where(slots >= 0, index.keys[np.maximum(slots, 0)], -1)
    rec = float(recall(found, np.where(truth >= 0, live[np.maximum(truth, 0)], -1)).mean())
    return Result(
        n,
        index.kind,
        round(build, 3),
        round(rss_bytes() / 2**20, 1),
        round(add_1, 4),
        round(delete_1, 4),
        round(edit_100, 4),
        round(save, 4),
        churn,
        round(float(np.mean(times)) if times else 0.0, 4),
        round(rec, 4),
        round(1 - len(index) / index.n_slots, 4),
        why,
    )


def markdown(results: list[Result]) -> str:
    lines = [
        "| rows | kind | full rebuild | add 1 | delete 1 | edit 100 | write version | churn: mean per edit (published) | recall@10 after churn | tombstones | RSS |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.rows:,} | {r.kind} | {r.build_s:.2f} s | {r.add_1_s * 1e3:.1f} ms | {r.delete_1_s * 1e3:.1f} ms | "
            f"{r.edit_100_s * 1e3:.1f} ms | {r.save_s * 1e3:.0f} ms | {r.churn_mean_s * 1e3:.0f} ms ({r.churn}) | "
            f"{r.churn_recall10:.4f} | {r.tombstone_share:.1%} | {r.rss_mb:,.0f} MB |"
        )
    rebuilt = [f"{r.rows:,}: {r.rebuilt}" for r in results if r.rebuilt]
    if rebuilt:
        lines.append("\nRebuilt during the updates: " + "; ".join(rebuilt))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1k,10k,100k")
    parser.add_argument("--churn", type=int, default=200, help="single-text edits applied and published one by one")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    KeyedIndex.build([0], np.ones((1, DIM), np.float32) / np.sqrt(DIM), DIM)  # import and warm FAISS before timing
    results = [run(parse_size(s), args.churn, args.seed, log) for s in args.sizes.split(",")]
    print(markdown(results))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
