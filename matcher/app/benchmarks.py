"""Building benchmark folders (FORMATS.md layout) from the public data sets: award data split in time,
the text-only i-Lab tasks, and the text-only view of any benchmark."""

from __future__ import annotations

import shutil
from pathlib import Path

from matcher.data.decp import benchmark_from_awards, read_awards
from matcher.evaluation.evaluate import Benchmark
from matcher.evaluation.textonly import TextBenchmark, ilab_long, ilab_pitch, read_laureates, text_only_view

__all__ = ["benchmark_from_awards", "build_ilab_benchmarks", "build_text_only_view", "read_awards"]


#: a benchmark written: its folder, its number of needs and of suppliers
Written = tuple[Path, int, int]


def build_ilab_benchmarks(
    ilab_file: str | Path, out: str | Path, pool_from: int = 2015, held_out_from: int = 2020, train_from: int | None = None
) -> dict[str, Written]:
    """``out/ilab-pitch-{train,eval}`` and ``out/ilab-long-{train,eval}`` from the i-Lab laureates file:
    the laureates of ``held_out_from`` on are evaluation needs (against every laureate since
    ``pool_from``), the earlier ones (from ``train_from`` if given: years an encoder trained on are
    left out) training needs. Returns each one by name."""
    laureates = read_laureates(ilab_file)
    written: dict[str, Written] = {}
    for task, build in (("pitch", ilab_pitch), ("long", ilab_long)):
        train, held_out = build(laureates, pool_from, held_out_from, train_from)
        for part, bench in (("train", train), ("eval", held_out)):
            name = f"ilab-{task}-{part}"
            written[name] = (bench.write(Path(out) / name), len(bench.needs), len(bench.suppliers))
    return written


def build_text_only_view(source: str | Path, out: str | Path) -> Written:
    """The benchmark at ``source`` stripped to its texts (``matcher.evaluation.textonly.text_only_view``),
    written to ``out`` with the same labels and slices."""
    bench = Benchmark.load(source)
    suppliers, needs = text_only_view([s.to_dict() for s in bench.suppliers], [n.to_dict() for n in bench.needs])
    qrels = [(n, s, g) for n, graded in (bench.qrels or {}).items() for s, g in graded.items()]
    folder = TextBenchmark(suppliers, needs, qrels).write(out)
    if (Path(source) / "slices.tsv").is_file():
        shutil.copyfile(Path(source) / "slices.tsv", folder / "slices.tsv")
    return folder, len(needs), len(suppliers)
