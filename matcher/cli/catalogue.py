"""``matcher import | import-decp | decp-bench | import-ilab``: files and public data sets into the catalogue or a benchmark."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from matcher.cli.common import print_report, settings_from


def cmd_import(args: argparse.Namespace) -> int:
    from matcher.app.imports import import_file
    from matcher.data.catalogue import Catalogue

    settings = settings_from(args)
    settings.ensure_dirs()
    catalogue = Catalogue(settings.db_url)
    for path in args.files:
        kind = args.kind or next((k for k in ("suppliers", "needs", "labels", "qrels") if k in Path(path).stem.lower()), None)
        if kind is None:
            print(f"{path}: cannot tell whether it holds suppliers, needs or labels: use --kind", file=sys.stderr)
            return 2
        result = import_file(
            catalogue, "labels" if kind == "qrels" else kind, path, str(path), actor=f"cli:{os.environ.get('USER', 'local')}"
        )
        print_report(f"{path} ({result.kind})", result.report)
        print(f"{path} : {result.inserted} ajoutés, {result.updated} mis à jour.")
    return 0


def cmd_import_decp(args: argparse.Namespace) -> int:
    from matcher.data.catalogue import Catalogue
    from matcher.data.decp import buyers_from_awards, read_awards, suppliers_from_awards

    settings = settings_from(args)
    settings.ensure_dirs()
    awards, report = read_awards(args.files)
    suppliers = suppliers_from_awards(awards)
    catalogue = Catalogue(settings.db_url)
    buyers = buyers_from_awards(awards)
    known = catalogue.counts()["buyers"]
    with catalogue.transaction() as tx:
        ins, upd = tx.upsert_suppliers(suppliers)
        tx.upsert_buyers(buyers)
        tx.log_import("decp", ";".join(map(str, args.files)), report.read, report.accepted, report.rejected)
    buyers_new = catalogue.counts()["buyers"] - known
    print_report("DECP", report)
    print(
        f"DECP : {len(awards)} marchés distincts, {len(suppliers)} titulaires ({ins} ajoutés, {upd} mis à jour), {buyers_new} nouveaux acheteurs."
    )
    return 0


def cmd_decp_bench(args: argparse.Namespace) -> int:
    from matcher.data.decp import benchmark_from_awards, read_awards

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
    from matcher.data.catalogue import Catalogue
    from matcher.data.ilab import read_ilab

    settings = settings_from(args)
    settings.ensure_dirs()
    suppliers, report = read_ilab(args.file)
    catalogue = Catalogue(settings.db_url)
    with catalogue.transaction() as tx:
        ins, upd = tx.upsert_suppliers(suppliers)
        tx.log_import("ilab", str(args.file), report.read, report.accepted, report.rejected)
    print_report("i-Lab", report)
    print(f"i-Lab : {len(suppliers)} start-ups ({ins} ajoutées, {upd} mises à jour).")
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
