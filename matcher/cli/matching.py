"""``matcher index | match | shortlist | buyers``: the index of the catalogue, and what buyers and staff ask of it."""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

from matcher.app.export import SHORTLIST_COLUMNS, shortlist_rows, write_csv, write_xlsx
from matcher.app.vocabulary import canonical_id, count_fr, number_fr, unicode_problem
from matcher.cli.common import check_k, filters_of, settings_from


def cmd_index(args: argparse.Namespace) -> int:
    from matcher.app import Engine

    engine = Engine.open(settings_from(args), progress=True)
    m = engine.manifest
    live = m.live if m.live >= 0 else m.size
    print(
        f"Index prêt ({engine.index_version}, {m.kind}) : {live} textes de preuve, {len(engine.corpus)} fournisseurs, "
        f"encodeur {m.encoder_key}, créé le {m.created_at}."
    )
    update = engine.last_update.get("index")
    if update and (update["added"] or update["removed"]):
        how = f"reconstruit — {update['rebuilt']}" if update["rebuilt"] else "mis à jour sur place, sans reconstruction"
        print(f"  {update['added']} textes ajoutés, {update['removed']} retirés, {update['kept']} inchangés ({how}).")
    elif update:
        print("  Catalogue inchangé : la version publiée est servie telle quelle.")
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from matcher.app import Engine, matching
    from matcher.app.vocabulary import Query

    settings = settings_from(args)
    check_k(args.k, settings)
    text = args.text.strip()
    if not text or len(text) > settings.max_text_chars:
        raise SystemExit(f"text: must be 1 to {settings.max_text_chars} characters")
    if unicode_problem(text):  # bytes that are not UTF-8 arrive from argv as lone surrogates
        raise SystemExit(f"text: {unicode_problem(text)} (the terminal did not send UTF-8)")
    buyer = canonical_id(args.buyer, "--buyer", required=False) if args.buyer else ""
    engine = Engine.open(settings)
    query = Query(text, cpv=args.cpv or [], buyer_id=buyer, segment=args.need_segment or "")
    results = matching.match(engine, query, args.k, filters_of(args))
    if args.json:
        print(json.dumps({"results": [r.to_dict() for r in results], "versions": engine.versions()}, ensure_ascii=False, indent=2))
        return 0
    print(f"Besoin : {text}\n")
    for r in results:
        print(f"{r.rank:>3}. {r.supplier.name}  (score {number_fr(r.score, 3)}, {r.supplier.region or 'région inconnue'})")
        for reason in r.explanation.reasons:
            print(textwrap.fill(reason, width=100, initial_indent="       - ", subsequent_indent="         "))
    if not results:
        print("Aucun fournisseur ne passe les filtres.")
    return 0


def cmd_shortlist(args: argparse.Namespace) -> int:
    from matcher.app import Engine, shortlists

    settings = settings_from(args)
    check_k(args.k, settings)
    engine = Engine.open(settings)
    buyers = engine.catalogue.buyers()
    if args.buyer:
        wanted = [canonical_id(b, "--buyer") for b in args.buyer]
        buyers = [b for b in buyers if b[0] in wanted]
        missing = set(wanted) - {b[0] for b in buyers}
        if missing:
            raise SystemExit(f"buyer: unknown buyer id(s) {', '.join(sorted(missing))} (see `matcher buyers`)")
    from matcher.app import outcomes

    rows = []
    for buyer_id, _, n_needs in buyers:
        needs, entries = shortlists.shortlist(engine, buyer_id, args.k)
        if args.csv or args.xlsx:  # a list that leaves as a file is kept as sent, dated
            outcomes.snapshot_shortlist(engine, buyer_id, entries, "cli", "ligne de commande")
        name = next((n.buyer_name for n in needs if n.buyer_name), "")  # the service's rule: the export is the same file
        print(f"\n=== Liste de start-up pertinentes — {name or buyer_id} ({count_fr(n_needs, 'besoin', 'besoins')}) ===")
        print(f"{'rang':>4}  {'start-up':<34} {'score':>6}  {'région':<28} besoins couverts")
        for e in entries:
            supplier = engine.corpus.suppliers[e.supplier]
            covered = ", ".join(f"{nid} (#{rank})" for nid, _, rank in e.needs)
            print(f"{e.rank:>4}  {supplier.name[:34]:<34} {number_fr(e.score, 2):>6}  {supplier.region[:28]:<28} {covered}")
        rows += shortlist_rows(engine, buyer_id, name, entries)  # the service's export: same columns, same cells
    if args.csv:
        write_csv(args.csv, SHORTLIST_COLUMNS, rows)
        print(f"\nExport CSV : {args.csv} ({len(rows)} lignes)")
    if args.xlsx:
        write_xlsx(args.xlsx, SHORTLIST_COLUMNS, rows, sheet="Start-up pertinentes")
        print(f"Export XLSX : {args.xlsx} ({len(rows)} lignes)")
    return 0


def cmd_buyers(args: argparse.Namespace) -> int:
    from matcher.app import open_catalogue

    for buyer_id, name, n in open_catalogue(settings_from(args), with_sample=True).buyers():
        print(f"{buyer_id:<24} {name:<50} {count_fr(n, 'besoin', 'besoins')}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's commands to the ``matcher`` parser."""
    p = sub.add_parser("index", help="build (or refresh) the index of the catalogue")
    p.set_defaults(func=cmd_index)

    def addfilters_of(p: argparse.ArgumentParser) -> None:
        p.add_argument("--segment", action="append", help="keep suppliers of this segment (repeatable)")
        p.add_argument("--region", action="append", help="keep suppliers of this region (repeatable)")
        p.add_argument("--tag", action="append", help="keep suppliers with this tag (repeatable: all required)")

    p = sub.add_parser("match", help="rank suppliers for a free-text need")
    p.add_argument("text")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--cpv", action="append", help="CPV code of the need")
    p.add_argument("--buyer", help="buyer id of the need")
    p.add_argument("--need-segment", help="purchase segment of the need")
    p.add_argument("--json", action="store_true")
    addfilters_of(p)
    p.set_defaults(func=cmd_match)

    p = sub.add_parser("shortlist", help="shortlists per buyer (ministry) over its recorded needs")
    p.add_argument("--buyer", action="append", help="buyer id (default: every buyer)")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--csv", type=Path, help="also export the shortlists to this CSV file")
    p.add_argument("--xlsx", type=Path, help="also export the shortlists to this XLSX file")
    p.set_defaults(func=cmd_shortlist)

    p = sub.add_parser("buyers", help="list buyers with recorded needs")
    p.set_defaults(func=cmd_buyers)
