"""The spreadsheet templates staff start from, and the French column titles imports accept.

One definition per kind of record: each column's French title (what a template's header says and
what a spreadsheet made from one carries) beside the field of the interchange format (FORMATS.md)
it fills. Imports accept either: ``canonical_row`` turns French titles into the format's fields,
whatever their case or accents. The templates (CSV as French Excel writes it — semicolons, UTF-8
with a byte-order mark — and XLSX) hold one example row each.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Mapping
from typing import Any, Literal

Kind = Literal["besoins", "fournisseurs"]

#: (French title, format field) per kind, in the templates' column order
COLUMNS: dict[Kind, tuple[tuple[str, str], ...]] = {
    "besoins": (
        ("Identifiant du besoin", "need_id"),
        ("Identifiant de l'acheteur", "buyer_id"),
        ("Nom de l'acheteur", "buyer_name"),
        ("Intitulé", "title"),
        ("Description", "description"),
        ("Codes CPV", "cpv"),
        ("Segment", "segment"),
        ("Région", "region"),
        ("Date", "date"),
        ("Montant (€ HT)", "amount"),
    ),
    "fournisseurs": (
        ("Identifiant", "supplier_id"),
        ("Nom", "name"),
        ("Description", "description"),
        ("Segments", "segments"),
        ("Codes CPV", "cpv"),
        ("Région", "region"),
        ("Étiquettes", "tags"),
        ("SIREN", "siren"),
        ("Site web", "website"),
    ),
}

#: the example row of each template (fictional)
EXAMPLES: dict[Kind, dict[str, str]] = {
    "besoins": {
        "need_id": "besoin-2027-001",
        "buyer_id": "min-exemple",
        "buyer_name": "Ministère de l'Exemple",
        "title": "Traduction automatique de documents techniques",
        "description": (
            "Traduire en anglais et en allemand des notices techniques de 50 à 300 pages, avec un glossaire métier, "
            "sans que les documents quittent nos serveurs."
        ),
        "cpv": "79530000; 72000000",
        "segment": "numerique",
        "region": "Île-de-France",
        "date": "2027-01-15",
        "amount": "80000",
    },
    "fournisseurs": {
        "supplier_id": "552100554",
        "name": "Exemple Traduction SAS",
        "description": "Traduction automatique spécialisée par domaine, hébergée chez le client ; glossaires métier et relecture humaine.",
        "segments": "numerique; prestations-intellectuelles",
        "cpv": "79530000",
        "region": "Auvergne-Rhône-Alpes",
        "tags": "deeptech; french-tech-120",
        "siren": "552100554",
        "website": "https://exemple.fr",
    },
}


def _folded(title: str) -> str:
    decomposed = unicodedata.normalize("NFKD", title.replace("’", "'"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


_FIELDS: dict[Kind, dict[str, str]] = {kind: {_folded(title): name for title, name in columns} for kind, columns in COLUMNS.items()}


def canonical_row(row: Mapping[str, Any], kind: Kind) -> dict[str, Any]:
    """``row`` with its French column titles replaced by the format's fields (other keys kept as they are)."""
    fields = _FIELDS[kind]
    return {fields.get(_folded(key), key) if isinstance(key, str) else key: value for key, value in row.items()}


def template_csv(kind: Kind) -> bytes:
    """The CSV template: French titles and the example row, as French Excel saves it (``;``, UTF-8 with BOM)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([title for title, _ in COLUMNS[kind]])
    writer.writerow([EXAMPLES[kind][name] for _, name in COLUMNS[kind]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(kind: Kind) -> bytes:
    """The XLSX template: a bold, frozen header of French titles and the example row, every cell text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = kind.capitalize()
    sheet.append([title for title, _ in COLUMNS[kind]])
    sheet.append([EXAMPLES[kind][name] for _, name in COLUMNS[kind]])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column, (title, name) in zip(sheet.iter_cols(min_row=1, max_row=2), COLUMNS[kind]):
        column[1].number_format = "@"  # codes and identifiers stay text (no 7.9E+07 for a CPV code)
        width = max(len(title), min(len(EXAMPLES[kind][name]), 60))
        sheet.column_dimensions[column[0].column_letter].width = width + 2
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
