"""What the command groups share: settings from the global options, the import report, k and filters."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from matcher.app.vocabulary import Filters, ImportReport
from matcher.settings import Settings


def settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("data_dir", "encoder", "database_url", "shared_data_dir", "mlflow_uri"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def print_report(title: str, report: ImportReport) -> None:
    print(f"{title} : {report.summary()}", file=sys.stderr)


def filters_of(args: argparse.Namespace) -> Filters:
    return Filters(segments=args.segment or [], regions=args.region or [], tags=args.tag or [])


def check_k(k: int, settings: Settings) -> None:
    if not 1 <= k <= settings.max_k:
        raise SystemExit(f"k: must be between 1 and {settings.max_k}, got {k}")
