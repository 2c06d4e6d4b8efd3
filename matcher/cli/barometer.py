"""``matcher barometer``: import the DECP, load labels, map buyers, print the figures (in French, for staff)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from matcher.cli.common import settings_from

#: French column names of the figures, in the order a table shows them
_HEADERS = {
    "year": "Année",
    "quarter": "Trimestre",
    "ministry": "Ministère / famille",
    "region": "Région",
    "division": "Division CPV",
    "procedure": "Procédure",
}


def _euros(value: float) -> str:
    return f"{value / 1e6:,.1f} M€".replace(",", " ").replace(".", ",")


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f} %".replace(".", ",")


def cmd_import(args: argparse.Namespace) -> int:
    from matcher.app import barometer

    result = barometer.import_decp(settings_from(args), args.files)
    for f in result.files:
        if f.skipped:
            print(f"{f.file} : déjà importé à l'identique, ignoré", file=sys.stderr)
            continue
        anomalies = ", ".join(f"{k} : {v}" for k, v in sorted(f.summary.anomalies.items())) or "aucune"
        print(
            f"{f.file} : {f.summary.rows} lignes (contrat × titulaire), {f.summary.rejected} rejetées ; anomalies : {anomalies}",
            file=sys.stderr,
        )
        for example in f.summary.examples[:5]:
            print(f"  rejet — {example}", file=sys.stderr)
    print(
        f"Baromètre : {result.awards} lignes après dédoublonnage ({result.duplicates} doublons retirés), {result.contracts} contrats.",
        file=sys.stderr,
    )
    return 0


def cmd_labels(args: argparse.Namespace) -> int:
    from matcher.app import barometer

    if not (args.ilab or args.file or args.catalogue):
        raise SystemExit("barometer labels : donnez --ilab, --file ou --catalogue")
    load = barometer.load_labels(settings_from(args), args.ilab, args.file, args.catalogue)
    for source, n in load.loaded.items():
        print(f"{source} : {n} étiquettes", file=sys.stderr)
    if args.catalogue:
        print(f"catalogue : taille (PME ou non) connue pour {load.sme} entreprises", file=sys.stderr)
    for error in load.errors[:20]:
        print(f"  rejet — {error}", file=sys.stderr)
    if len(load.errors) > 20:
        print(f"  … et {len(load.errors) - 20} autres lignes rejetées", file=sys.stderr)
    return 0


def cmd_buyers(args: argparse.Namespace) -> int:
    from matcher.app import barometer

    settings = settings_from(args)
    if args.import_file:
        mapping = barometer.map_buyers(settings, args.import_file)
        print(f"{mapping.updated} acheteurs rattachés par l'équipe", file=sys.stderr)
        for error in mapping.errors[:20]:
            print(f"  rejet — {error}", file=sys.stderr)
        return 0
    sys.stdout.write(barometer.buyers_csv(settings, args.unmapped))
    return 0


def _table(rows: list[dict[str, Any]], by: list[str]) -> list[str]:
    header = [_HEADERS[d] for d in by] + ["Contrats", "Montant", "Innovantes", "PME", "Taille inconnue", "Signalés innovants", "Cible"]
    lines = [" | ".join(header), " | ".join("---" for _ in header)]
    for row in rows:
        cells = [("inconnue" if row[d] is None else str(row[d])) for d in by] + [
            str(row["contracts"]),
            _euros(row["amount"]),
            _percent(row["innovative_share"]),
            _percent(row["sme_share"]),
            _percent(row["sme_unknown_share"]),
            _percent(row["flagged_share"]),
            _percent(row.get("target_share")),
        ]
        lines.append(" | ".join(cells))
    return lines


def cmd_show(args: argparse.Namespace) -> int:
    from matcher.app import barometer

    by = [d.strip() for d in args.by.split(",") if d.strip()]
    try:
        report = barometer.barometer_figures(settings_from(args), by, args.state, args.year)
    except ValueError as exc:
        raise SystemExit(f"barometer : {exc}") from exc
    if args.json:
        print(json.dumps(report, ensure_ascii=False, default=str, indent=1))
        return 0
    totals = report["totals"]
    print(
        f"Baromètre : {totals['contracts']} contrats ({totals['first_year']}–{totals['last_year']}), {totals['buyers']} acheteurs "
        f"dont {totals['buyers_unmapped']} non rattachés, {totals['labelled_companies']} entreprises étiquetées innovantes ; "
        f"{totals['unusable']} lignes sans montant ou titulaire exploitable comptées à part."
    )
    print(("Périmètre : acheteurs de l'État (ministères)" if args.state else "Périmètre : tous les acheteurs") + "\n")
    for line in _table(report["rows"], by):
        print(line)
    if report["unmapped_buyers"]:
        print("\nAcheteurs non rattachés les plus importants (à rattacher : matcher barometer buyers --unmapped) :")
        for b in report["unmapped_buyers"][:10]:
            print(f"  {b['buyer_id']}  {b['name']}  {b['contracts']} contrats, {_euros(b['amount'])}")
    return 0


_STAGE_TITLES = ("Listées", "Jugées pertinentes", "Contactées", "Rencontrées", "Contractualisées", "Marché attribué")


def cmd_outcomes(args: argparse.Namespace) -> int:
    from matcher.app import open_catalogue, outcomes

    settings = settings_from(args)
    catalogue = open_catalogue(settings)
    found = outcomes.detect_outcomes(settings, catalogue)
    print(
        f"Résultats : {found.snapshots} listes envoyées examinées, {found.found} marchés attribués à des start-up listées "
        f"après la date de la liste, dont {found.new} nouveaux.",
        file=sys.stderr,
    )
    rows = outcomes.funnel(catalogue, args.buyer)
    if args.json:
        print(json.dumps({"detection": vars(found), "funnel": rows}, ensure_ascii=False, indent=1))
        return 0
    print(" | ".join(["Organisation", "Listes", *_STAGE_TITLES]))
    print(" | ".join("---" for _ in range(len(_STAGE_TITLES) + 2)))
    for row in rows:
        print(" | ".join([row["buyer_id"], str(row["lists"]), *(str(row[s]) for s in outcomes.STAGES)]))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("barometer", help="the barometer: share of purchases won by innovative companies and SMEs (DECP)")
    commands = p.add_subparsers(dest="barometer_command", required=True)
    c = commands.add_parser("import", help="import published DECP files (JSON 2019 or 2022, tabular CSV or Parquet); idempotent")
    c.add_argument("files", nargs="+", type=Path)
    c.set_defaults(func=cmd_import)
    c = commands.add_parser("labels", help="load who counts as innovative (by SIREN)")
    c.add_argument("--ilab", type=Path, help="the i-Lab laureates CSV")
    c.add_argument("--file", type=Path, action="append", help="a staff list: siren, label[, source, year] (CSV, XLSX, JSONL)")
    c.add_argument("--catalogue", action="store_true", help="the catalogue's tagged start-ups, and their SME status")
    c.set_defaults(func=cmd_labels)
    c = commands.add_parser("buyers", help="the buyer → ministry/region mapping: print it as CSV, or import staff's")
    c.add_argument("--unmapped", action="store_true", help="only the buyers no rule maps")
    c.add_argument("--import", dest="import_file", type=Path, help="a file of buyer_id, ministry[, region, name] that overrides the rules")
    c.set_defaults(func=cmd_buyers)
    c = commands.add_parser("show", help="the figures, grouped (year, quarter, ministry, region, division, procedure)")
    c.add_argument("--by", default="year", help="comma-separated dimensions (default: year)")
    c.add_argument("--state", action="store_true", help="the State's buyers only (the scope of the 4 %% target)")
    c.add_argument("--year", type=int)
    c.add_argument("--json", action="store_true", help="print exactly one JSON object")
    c.set_defaults(func=cmd_show)
    c = commands.add_parser("outcomes", help="link the awards imported to the lists sent before them; print the funnel per organisation")
    c.add_argument("--buyer", help="one organisation only")
    c.add_argument("--json", action="store_true", help="print exactly one JSON object")
    c.set_defaults(func=cmd_outcomes)
