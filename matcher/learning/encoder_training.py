"""Training data for the project's own encoders, and the training run itself.

Pairs are (need, evidence of its winner) from training benchmarks and (one-line pitch,
summary) from the i-Lab laureates *before* a given year; the later laureates are held out to
report on. The vocabulary is learnt on the same texts plus the CPV labels.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embeddings import Encoder
from embeddings.training import distill_static, retrieval_mrr, save_encoder, train_contrastive, train_tokenizer
from matcher.data.cpv import CpvVocabulary
from matcher.data.text import repair
from matcher.evaluation.evaluate import Benchmark
from matcher.ranking.corpus import Corpus
from matcher.ranking.rank import Query, Ranker

MAX_EVIDENCE_PER_WINNER = 5


@dataclass
class EncoderTrainingData:
    texts: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    held_out: list[tuple[str, str]] = field(default_factory=list)
    sources: dict[str, Any] = field(default_factory=dict)


def ilab_pairs(path: str | Path, before_year: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(pitch, summary) pairs of laureates before ``before_year`` (train) and from it on (held out)."""
    train: list[tuple[str, str]] = []
    held_out: list[tuple[str, str]] = []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            pitch, summary = repair(row.get("moto") or ""), repair(row.get("resume") or "")
            year = (row.get("annee") or "").strip()
            if not pitch or not summary or not year.isdigit():
                continue
            (train if int(year) < before_year else held_out).append((pitch, summary))
    return train, held_out


def benchmark_pairs(benchmarks: Sequence[Benchmark], cpv: CpvVocabulary | None) -> list[tuple[str, str]]:
    """(need text as matched, evidence text of a winner) for every labelled need."""
    pairs: list[tuple[str, str]] = []
    for bench in benchmarks:
        corpus = Corpus(bench.suppliers, cpv)
        for need in bench.needs:
            labels = (bench.qrels or {}).get(need.need_id, {})
            query_text = Ranker.query_text_for(Query.from_need(need), corpus)
            for supplier_id, grade in labels.items():
                if grade > 0 and supplier_id in corpus.position:
                    rows = corpus.supplier_rows[corpus.position[supplier_id]][:MAX_EVIDENCE_PER_WINNER]
                    pairs.extend((query_text, corpus.evidence[r].embed_text) for r in rows)
    return pairs


def train_static_encoder(
    teacher: Encoder,
    data: EncoderTrainingData,
    folder: Path,
    name: str,
    vocab_size: int = 12_000,
    epochs: int = 3,
    seed: int = 0,
) -> dict[str, Any]:
    """Learn the vocabulary, distil the teacher, train on the pairs, save; returns the manifest."""
    started = time.perf_counter()
    tokenizer = train_tokenizer(data.texts, vocab_size=vocab_size)
    model = distill_static(teacher, tokenizer)
    model = train_contrastive(model, data.pairs, epochs=epochs, seed=seed)
    manifest = _manifest(
        name, "static-embedding", data, started, teacher=teacher.key, vocab_size=tokenizer.get_vocab_size(), epochs=epochs, seed=seed
    )
    manifest["training"]["texts"] = len(data.texts)
    save_encoder(model, folder, manifest)
    return manifest


def finetune_transformer_encoder(
    base: str | Path,
    base_key: str,
    data: EncoderTrainingData,
    folder: Path,
    name: str,
    epochs: int = 1,
    batch_size: int = 32,
    learning_rate: float = 5e-5,
    seed: int = 0,
) -> dict[str, Any]:
    """Fine-tune a sentence-transformers model from a local folder on the pairs, save; returns the manifest."""
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
    model = train_contrastive(model, data.pairs, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed)
    manifest = _manifest(
        name, "fine-tuned-transformer", data, started, base=base_key, epochs=epochs, learning_rate=learning_rate, seed=seed
    )
    manifest["weights"] = "float16 on disk (half the size), computed in float32"
    save_encoder(model.half(), folder, manifest)
    return manifest


def _manifest(name: str, kind: str, data: EncoderTrainingData, started: float, **settings: Any) -> dict[str, Any]:
    """What ``load_encoder`` and the people after us need to know about a trained encoder."""
    return {
        "name": name,
        "version": time.strftime("%Y%m%d%H%M%S", time.gmtime()),
        "kind": kind,
        **settings,
        "training": {**data.sources, "pairs": len(data.pairs)},
        "train_seconds": round(time.perf_counter() - started, 1),
    }


def held_out_mrr(encoder: Encoder, pairs: Sequence[tuple[str, str]], limit: int = 1000) -> float:
    """MRR on (at most ``limit``) held-out pairs, in file order (deterministic)."""
    return retrieval_mrr(encoder, list(pairs)[:limit])
