"""What the hubness table (CSLS, ``matcher/ranking/hubness.py``) costs when a ranker is built.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/hubness.py [--sizes 10000,50000,200000] [--dim 384]

Random unit vectors (one supplier per row), the table built from nothing (what a new index
version pays), then again from itself with 1 % new rows (what a live update pays), and read back
from the file it is saved in with its index version (what a service start on that version pays).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matcher.ranking.hubness import MAX_EXACT_ROWS, SAMPLE_ROWS, HubnessTable  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,200000")
    parser.add_argument("--dim", type=int, default=384)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"exact up to {MAX_EXACT_ROWS:,} rows, else against a {SAMPLE_ROWS:,}-row sample\n")
    print("| evidence rows | build from nothing | live update (+1 % rows) | start: read with the version |")
    print("|---:|---:|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
        grown = n + n // 100
        vectors = rng.normal(size=(grown, args.dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        keys, owners = np.arange(grown), np.arange(grown)
        t0 = time.perf_counter()
        table = HubnessTable.build(keys[:n], vectors.__getitem__, owners[:n])
        built = time.perf_counter() - t0
        t0 = time.perf_counter()
        HubnessTable.build(keys, vectors.__getitem__, owners, previous=table)
        update = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as folder:
            table.save(folder)
            t0 = time.perf_counter()
            HubnessTable.load(folder)
            read = time.perf_counter() - t0
        print(f"| {n:,} | {built:.1f} s | {update:.2f} s | {1000 * read:.1f} ms |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
