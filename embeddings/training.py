"""Training the project's own encoders with sentence-transformers.

A fast static model: a WordPiece vocabulary learnt on in-domain French text, each token
embedded by a teacher encoder (distillation: no download, the teacher is packaged), then
trained contrastively (``MultipleNegativesRankingLoss``) on (query, passage) pairs. It encodes
thousands of texts per second on a CPU. Heavy imports happen inside the functions.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .base import Encoder

SPECIAL_TOKENS = ("[UNK]", "[PAD]")


def train_tokenizer(texts: Sequence[str], vocab_size: int = 12_000, min_frequency: int = 2) -> Any:
    """A lower-cased, accent-folded WordPiece tokenizer learnt on ``texts`` (``tokenizers.Tokenizer``)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    if not texts:
        raise ValueError("texts: need at least one text to learn a vocabulary from")
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True, clean_text=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), min_frequency=min_frequency, show_progress=False
    )
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def distill_static(teacher: Encoder, tokenizer: Any) -> Any:
    """A ``SentenceTransformer`` whose only module is a ``StaticEmbedding`` distilled from ``teacher``.

    Each vocabulary entry (continuation pieces without their ``##``) is encoded by the teacher
    as a passage; the mean vector is removed so that frequent directions do not dominate.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    vocab = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    strings = [token[2:] if token.startswith("##") else token for token, _ in vocab]
    weights = teacher.encode_passages(strings)
    special = [i for i, (token, _) in enumerate(vocab) if token in SPECIAL_TOKENS]
    weights[special] = 0.0
    weights = weights - weights.mean(axis=0, keepdims=True)
    return SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=np.asarray(weights, dtype=np.float32))], device="cpu")


def train_contrastive(
    model: Any, pairs: Sequence[tuple[str, str]], epochs: int = 3, batch_size: int = 64, learning_rate: float = 0.05, seed: int = 0
) -> Any:
    """Fine-tune ``model`` on (query, passage) pairs with in-batch negatives; deterministic given ``seed``."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments, losses

    if len(pairs) < 2:
        raise ValueError(f"pairs: need at least 2 (query, passage) pairs, got {len(pairs)}")
    shuffled = list(pairs)
    random.Random(seed).shuffle(shuffled)
    dataset = Dataset.from_dict({"anchor": [a for a, _ in shuffled], "positive": [p for _, p in shuffled]})
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp,
            num_train_epochs=epochs,
            per_device_train_batch_size=batch_size,
            learning_rate=learning_rate,
            save_strategy="no",
            report_to=[],
            seed=seed,
            data_seed=seed,
            logging_steps=10_000,
            use_cpu=True,
        )
        SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=losses.MultipleNegativesRankingLoss(model)).train()
    return model


def save_encoder(model: Any, folder: str | Path, manifest: dict[str, Any]) -> None:
    """Save in sentence-transformers format with ``manifest.json`` (read by ``load_encoder``)."""
    folder = Path(folder)
    model.save(str(folder))
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    # sentence-transformers writes a model card quoting training examples: keep data out of the model folder
    (folder / "README.md").write_text(
        f"# {manifest.get('name', folder.name)}\n\nAn encoder trained by this project (sentence-transformers format). "
        "How it was trained, on what and with which held-out figures: `manifest.json`.\n",
        encoding="utf-8",
    )


def retrieval_mrr(encoder: Encoder, pairs: Sequence[tuple[str, str]]) -> float:
    """MRR of finding each pair's own passage among all the pairs' passages (ties count against)."""
    queries = encoder.encode_queries([q for q, _ in pairs])
    passages = encoder.encode_passages([p for _, p in pairs])
    scores = queries @ passages.T
    ranks = (scores > np.diag(scores)[:, None]).sum(axis=1) + 1
    return float(np.mean(1.0 / ranks))
