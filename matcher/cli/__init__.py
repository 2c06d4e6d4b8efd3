"""The ``matcher`` command line, one module per command group.

``catalogue`` (imports, benchmarks from award data), ``matching`` (index, match, shortlists),
``learning`` (evaluate, train, promote), ``ops`` (serve, keys, backup, restore), ``barometer``
(the observatory of purchases won by innovative companies). Each command parses
its arguments, calls the application layer and prints what staff read, in French.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from matcher.app.vocabulary import InputFileError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def build_parser() -> argparse.ArgumentParser:
    """The ``matcher`` parser: global options, then every group's commands."""
    from matcher.cli import barometer, catalogue, learning, matching, ops

    parser = argparse.ArgumentParser(prog="matcher", description="Matchmaking besoins d'acheteurs publics ↔ start-up.")
    parser.add_argument("--data-dir", type=Path, help="working folder (default: $MATCHER_DATA_DIR or ./data)")
    parser.add_argument("--encoder", help="encoder name (see `matcher encoders`)")
    parser.add_argument("--database-url", help="SQLAlchemy URL of the catalogue")
    parser.add_argument("--shared-data-dir", type=Path, help="folder of the public data sets (for CPV labels)")
    parser.add_argument("--mlflow-uri", help="MLflow tracking URI")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (catalogue, matching, learning, ops, barometer):
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; a bad file or value prints ``erreur : …`` and exits 2."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        return int(args.func(args) or 0)
    except (InputFileError, ValueError) as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return 2
