"""The Common Procurement Vocabulary: labels and hierarchy of 8-digit CPV codes.

The labels come from the official CPV 2008 table (a path setting). Without it, codes are
still compared by their hierarchy; only the labels are missing.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path


def significant(code: str) -> str:
    """The significant digits of a code: trailing zeros dropped, at least the division (2)."""
    stripped = code.rstrip("0")
    return stripped if len(stripped) >= 2 else code[:2]


def agreement(a: str, b: str) -> int:
    """Depth of agreement of two codes: length of their common significant prefix (0–8).

    2 = same division, 3 = same group, 4 = same class, 5+ = same category or finer.
    Two equal codes agree at the depth of their significant digits (at least 2).
    """
    sa, sb = significant(a), significant(b)
    depth = 0
    for x, y in zip(sa, sb):
        if x != y:
            break
        depth += 1
    if depth < 2:
        return 0
    return depth


class CpvVocabulary:
    """CPV code → French label, with the parent chain of a code."""

    def __init__(self, labels: dict[str, str] | None = None) -> None:
        self.labels = labels or {}

    @classmethod
    def load(cls, path: Path | None) -> CpvVocabulary:
        """Read ``cpv_2008.csv`` (columns ``code``, ``label_fr``); empty vocabulary if no path."""
        if path is None:
            return cls()
        return cls(_read_labels(str(path)))

    def __bool__(self) -> bool:
        return bool(self.labels)

    def parent(self, code: str) -> str | None:
        """The nearest existing ancestor of a code (drop significant digits one by one)."""
        sig = significant(code)
        while len(sig) > 2:
            sig = sig[:-1]
            candidate = sig.ljust(8, "0")
            if not self.labels or candidate in self.labels:
                return candidate
        return None

    def label(self, code: str) -> str:
        """The French label of a code, or of its nearest ancestor, else ``""``."""
        current: str | None = code
        while current:
            if current in self.labels:
                return self.labels[current]
            current = self.parent(current)
        return ""

    def describe(self, code: str) -> str:
        """``"72000000 — Services de technologies de l'information…"`` (code alone without labels)."""
        label = self.label(code)
        return f"{code} — {label}" if label else code


@lru_cache(maxsize=4)
def _read_labels(path: str) -> dict[str, str]:
    labels = {}
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            code = (row.get("code") or "").strip()
            if code.isdigit() and len(code) == 8:
                labels[code] = (row.get("label_fr") or "").strip()
    return labels
