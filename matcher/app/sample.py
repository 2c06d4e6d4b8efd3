"""The bundled fictional catalogue (suppliers, needs, labels), loaded into an empty database."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from matcher.app.imports import import_file
from matcher.data.catalogue import Catalogue
from matcher.data.ingest import ImportReport


def sample_data_dir() -> Path:
    """The bundled fictional catalogue's folder (a benchmark folder: suppliers, needs, qrels)."""
    return Path(str(resources.files("matcher") / "sample_data"))


def load_sample(catalogue: Catalogue) -> ImportReport:
    """Import the bundled sample catalogue into ``catalogue`` (suppliers, needs, labels: the one import path)."""
    folder = sample_data_dir()
    report = ImportReport()
    for kind, name in (("suppliers", "suppliers.jsonl"), ("needs", "needs.jsonl"), ("labels", "qrels.tsv")):
        report.add(import_file(catalogue, kind, folder / name, f"sample:{folder / name}").report)
    return report
