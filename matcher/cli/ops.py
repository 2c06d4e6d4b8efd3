"""``matcher serve | keys | agents | backup | restore | encoders``: running the service and keeping it safe."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from matcher.cli.common import settings_from


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import ConfigurationError, create_app
    from service.observability import configure_json_logging

    configure_json_logging(logging.DEBUG if args.verbose else logging.INFO)
    settings = settings_from(args)
    try:
        app = create_app(settings)
    except ConfigurationError as exc:
        raise SystemExit(f"serve: {exc}") from None
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.port, log_level="info", log_config=None, access_log=False)
    return 0


def cmd_encoders(args: argparse.Namespace) -> int:
    from matcher.app.vocabulary import ENCODERS

    for name, description in ENCODERS.items():
        print(f"{name:<10} {description}")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from matcher.app import open_catalogue
    from matcher.app.ops import key_store

    settings = settings_from(args)
    catalogue = open_catalogue(settings)
    keys = key_store(settings, catalogue)
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
            raise SystemExit(f"keys : aucune clé active « {args.key_id} »")
        print(f"Clé {args.key_id} révoquée.")
    elif args.action == "demo":
        from matcher.app import load_sample

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


def cmd_backup(args: argparse.Namespace) -> int:
    from matcher.app.ops import BackupError, backup

    try:
        contents = backup(settings_from(args), args.out, with_cache=not args.no_cache)
    except BackupError as exc:
        raise SystemExit(f"backup: {exc}") from None
    size = Path(args.out).stat().st_size / 1e6
    print(f"Sauvegarde écrite : {args.out} ({size:.1f} Mo) — {', '.join(contents['parts'])}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from matcher.app.ops import BackupError, restore

    try:
        contents = restore(settings_from(args), args.archive, force=args.force)
    except BackupError as exc:
        raise SystemExit(f"restore: {exc}") from None
    print(f"Restauré depuis {args.archive} (sauvegarde du {contents['created_at']}) : {', '.join(contents['parts'])}")
    return 0


def cmd_agents(args: argparse.Namespace) -> int:
    """The SIRET table of agents' sign-in, for operators (the first staff establishment, say)."""
    from matcher.app import open_catalogue
    from matcher.app.ops import AgentDirectory

    directory = AgentDirectory(open_catalogue(settings_from(args)))
    actor = f"cli:{os.environ.get('USER', 'local')}"
    if args.action == "set":
        try:
            o = directory.set(args.siret, args.role, args.buyer, args.label or "", actor=actor)
        except ValueError as exc:
            raise SystemExit(f"agents : {exc}") from None
        print(f"Établissement {o.siret} : ses agents se connectent avec le rôle {o.role}{' pour ' + o.buyer_id if o.buyer_id else ''}.")
    elif args.action == "list":
        print(f"{'SIRET':<15} {'rôle':<6} {'acheteur':<22} {'modifié le':<20} établissement")
        for o in directory.list():
            print(f"{o.siret:<15} {o.role:<6} {(o.buyer_id or '—'):<22} {o.updated_at:<20} {o.label}")
    elif args.action == "remove":
        try:
            removed = directory.remove(args.siret, actor=actor)
        except ValueError as exc:
            raise SystemExit(f"agents : {exc}") from None
        if not removed:
            raise SystemExit(f"agents : aucun établissement inscrit pour le SIRET « {args.siret} »")
        print(f"Établissement {args.siret} retiré : ses agents ne peuvent plus se connecter.")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's commands to the ``matcher`` parser."""
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

    p = sub.add_parser("agents", help="agents' sign-in (ProConnect): which organisation and role each SIRET gets")
    agents = p.add_subparsers(dest="action", required=True)
    a = agents.add_parser("set", help="let the agents of an establishment sign in")
    a.add_argument("siret", help="the establishment's SIRET (14 digits)")
    a.add_argument("--role", required=True, choices=("buyer", "staff", "admin"))
    a.add_argument("--buyer", help="the buyer organisation (role buyer)")
    a.add_argument("--label", help="the establishment's name")
    agents.add_parser("list", help="the establishments whose agents may sign in")
    a = agents.add_parser("remove", help="stop an establishment's agents from signing in")
    a.add_argument("siret")
    p.set_defaults(func=cmd_agents)

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
