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


def decimal_fr(value: float, digits: int) -> str:
    """A number with ``digits`` decimals as French writes it (decimal comma): staff tables."""
    return f"{value:.{digits}f}".replace(".", ",")


def plural(n: int, one: str, many: str) -> str:
    """``n`` with its noun, singular for 0 and 1 as French does."""
    return f"{n} {one if n < 2 else many}"


def print_report(title: str, report: ImportReport) -> None:
    print(f"{title} : {report.summary()}", file=sys.stderr)


def filters_of(args: argparse.Namespace) -> Filters:
    return Filters(segments=args.segment or [], regions=args.region or [], tags=args.tag or [])


def check_k(k: int, settings: Settings) -> None:
    if not 1 <= k <= settings.max_k:
        raise SystemExit(f"k: must be between 1 and {settings.max_k}, got {k}")
