"""Who counts as innovative: labelled companies by SIREN, from the i-Lab laureates, the catalogue and staff's lists.

A label is ``(siren, label, source, year)``. Sources:

- the i-Lab laureates file (MESR open data): label ``i-Lab``, the year of the competition won;
- the catalogue: its start-ups' innovation tags (``INNOVATION_TAGS``: ``deeptech``, ``i-lab``,
  ``french-tech-120`` …), year unknown; and their SME status where their record states a size;
- any CSV, XLSX or JSONL staff add (JEI, French Tech, innovation-aid lists …) with columns
  ``siren`` (checked by its Luhn key), ``label``, optional ``source`` and ``year``; a bad row is
  reported with its line and field, the good ones are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from matcher.data.ingest import RowError, read_rows
from matcher.data.schema import Supplier

#: catalogue tags that are innovation labels (``pme``, ``esus`` are not)
INNOVATION_TAGS = {"deeptech", "i-lab", "french-tech-120", "french-tech-2030", "next40", "jei", "greentech", "innovation"}
ILAB_LABEL, ILAB_SOURCE = "i-Lab", "MESR — concours i-Lab"
CATALOGUE_SOURCE = "catalogue"

Label = tuple[str, str, str, int | None]


@dataclass
class LabelRead:
    """Labels read from a file, and the rows refused (line, field, why)."""

    labels: list[Label] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    read: int = 0


def luhn_ok(digits: str) -> bool:
    """Whether a SIREN (9 digits) or SIRET (14) passes its Luhn check."""
    if not digits.isdigit():
        return False
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _siren(value: object) -> str:
    digits = re.sub(r"\D", "", str(value or ""))
    return digits[:9] if len(digits) in (9, 14) else ""


def _year(value: object) -> int | None:
    match = re.search(r"(19|20)\d{2}", str(value or ""))
    return int(match.group(0)) if match else None


def ilab_labels(path: str | Path) -> LabelRead:
    """The i-Lab laureates with a SIREN (or a SIRET), each labelled with the year it won."""
    out = LabelRead()
    for _line, row in read_rows(path):
        out.read += 1
        if isinstance(row, RowError):
            out.errors.append(row)
            continue
        siren = _siren(row.get("siren")) or _siren(row.get("siret"))
        if not siren:
            continue  # laureates without an identifier: not matchable to awards (the file's README says so)
        out.labels.append((siren, ILAB_LABEL, ILAB_SOURCE, _year(row.get("annee"))))
    return out


def file_labels(path: str | Path, default_source: str) -> LabelRead:
    """Labels from a staff file (``siren``, ``label``, optional ``source``, ``year``)."""
    out = LabelRead()
    for line, row in read_rows(path):
        out.read += 1
        if isinstance(row, RowError):
            out.errors.append(row)
            continue
        raw = str(row.get("siren") or "").strip()
        siren = re.sub(r"\s", "", raw)
        if not re.fullmatch(r"\d{9}", siren):
            out.errors.append(RowError(str(path), line, "siren", f"{raw!r} n'est pas un SIREN (9 chiffres)"))
            continue
        if not luhn_ok(siren):
            out.errors.append(RowError(str(path), line, "siren", f"{siren} : la clé de contrôle (Luhn) est fausse"))
            continue
        label = str(row.get("label") or "").strip()
        if not label:
            out.errors.append(RowError(str(path), line, "label", "est requis et vide"))
            continue
        year_raw = row.get("year")
        year = _year(year_raw)
        if year_raw not in (None, "") and year is None:
            out.errors.append(RowError(str(path), line, "year", f"{year_raw!r} n'est pas une année"))
            continue
        out.labels.append((siren, label[:100], str(row.get("source") or default_source).strip()[:200], year))
    return out


def catalogue_labels(suppliers: Iterable[Supplier]) -> tuple[list[Label], list[tuple[str, bool, str]]]:
    """The catalogue's innovation tags as labels, and the SME status its records state: ``(labels, sme)``."""
    labels: list[Label] = []
    sme: list[tuple[str, bool, str]] = []
    for supplier in suppliers:
        siren = _siren(supplier.siren) or (supplier.supplier_id if re.fullmatch(r"\d{9}", supplier.supplier_id) else "")
        if not siren:
            continue
        labels.extend((siren, tag, CATALOGUE_SOURCE, None) for tag in sorted(set(supplier.tags) & INNOVATION_TAGS))
        if supplier.size or "pme" in supplier.tags:
            sme.append((siren, supplier.is_sme, CATALOGUE_SOURCE))
    return labels, sme
