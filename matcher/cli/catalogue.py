"""``matcher import | import-decp | decp-bench | import-ilab | text-bench``: files and public data sets into the catalogue or a benchmark."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from matcher.cli.common import print_report, settings_from


def cmd_import(args: argparse.Namespace) -> int:
    from matcher.app import open_catalogue
    from matcher.app.imports import import_file

    catalogue = open_catalogue(settings_from(args))
    for path in args.files:
        kind = args.kind or next((k for k in ("suppliers", "needs", "labels", "qrels") if k in Path(path).stem.lower()), None)
        if kind is None:
            print(
                f"{path} : impossible de dire s'il contient des fournisseurs, des besoins ou des jugements : précisez --kind",
                file=sys.stderr,
            )
            return 2
        result = import_file(catalogue, "labels" if kind == "qrels" else kind, path, str(path), actor=_actor())
        print_report(f"{path} ({result.kind})", result.report)
        print(f"{path} : {result.inserted} ajoutés, {result.updated} mis à jour.")
    return 0


def _actor() -> str:
    return f"cli:{os.environ.get('USER', 'local')}"


def cmd_import_decp(args: argparse.Namespace) -> int:
    from matcher.app import open_catalogue
    from matcher.app.imports import import_decp

    result = import_decp(open_catalogue(settings_from(args)), args.files, actor=_actor())
    print_report("DECP", result.report)
    print(
        f"DECP : {result.awards} marchés distincts, {result.inserted + result.updated} titulaires ({result.inserted} ajoutés, "
        f"{result.updated} mis à jour), {result.new_buyers} nouveaux acheteurs."
    )
    return 0


def cmd_decp_bench(args: argparse.Namespace) -> int:
    from matcher.app.benchmarks import benchmark_from_awards, read_awards

    awards, report = read_awards(args.files)
    print_report("DECP", report)
    bench = benchmark_from_awards(awards, args.split, args.until)
    bench.write(args.out)
    n_new = sum(1 for _, s in bench.slices if s == "new-pair")
    print(
        f"Benchmark écrit dans {args.out} : {len(bench.suppliers)} fournisseurs (marchés avant le {args.split}), "
        f"{len(bench.needs)} besoins (dont {n_new} new-pair), {len(bench.qrels)} jugements."
    )
    return 0


def cmd_import_ilab(args: argparse.Namespace) -> int:
    from matcher.app import open_catalogue
    from matcher.app.imports import import_ilab

    result = import_ilab(open_catalogue(settings_from(args)), args.file, actor=_actor())
    print_report("i-Lab", result.report)
    print(f"i-Lab : {result.inserted + result.updated} start-ups ({result.inserted} ajoutées, {result.updated} mises à jour).")
    return 0


def cmd_text_bench(args: argparse.Namespace) -> int:
    from matcher.app.benchmarks import build_ilab_benchmarks, build_text_only_view

    written = {}
    if args.ilab:
        written.update(build_ilab_benchmarks(args.ilab, args.out, args.pool_from, args.held_out_from, args.train_from))
    for source in args.view or []:
        written[f"{Path(source).name}-text"] = build_text_only_view(source, args.out / f"{Path(source).name}-text")
    if not written:
        raise SystemExit("text-bench : donnez --ilab et/ou --view")
    for name, (folder, n_needs, n_suppliers) in written.items():
        print(f"{name:<22} {n_needs:>5} besoins, {n_suppliers:>5} fournisseurs — {folder}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's commands to the ``matcher`` parser."""
    p = sub.add_parser("import", help="import suppliers, needs or labels (JSONL, CSV, Parquet)")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--kind", choices=["suppliers", "needs", "labels"])
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("import-decp", help="import award data (DECP JSON) as suppliers with references")
    p.add_argument("files", nargs="+", type=Path)
    p.set_defaults(func=cmd_import_decp)

    p = sub.add_parser("decp-bench", help="build a benchmark folder from award data, split in time")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--split", required=True, help="first day of the needs period (YYYY-MM-DD); profiles use earlier awards")
    p.add_argument("--until", help="first day after the needs period (YYYY-MM-DD)")
    p.add_argument("--out", type=Path, required=True, help="benchmark folder to write")
    p.set_defaults(func=cmd_decp_bench)

    p = sub.add_parser("import-ilab", help="import the i-Lab laureates CSV as suppliers")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_import_ilab)

    p = sub.add_parser("text-bench", help="build the text-only benchmarks: i-Lab pitch/long tasks, the text-only view of a benchmark")
    p.add_argument("--ilab", type=Path, help="i-Lab laureates CSV: ilab-pitch-{train,eval} and ilab-long-{train,eval}")
    p.add_argument("--pool-from", type=int, default=2015, help="evaluation suppliers: laureates of this year on")
    p.add_argument("--held-out-from", type=int, default=2020, help="evaluation needs: laureates of this year on (training: earlier)")
    p.add_argument(
        "--train-from", type=int, help="training needs: laureates of this year on only (leave out the years an encoder was trained on)"
    )
    p.add_argument("--view", type=Path, action="append", help="a benchmark folder to write stripped to its texts (<name>-text)")
    p.add_argument("--out", type=Path, required=True, help="folder to write the benchmarks in")
    p.set_defaults(func=cmd_text_bench)
