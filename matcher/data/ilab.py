"""Importer for the i-Lab laureates CSV (MESR open data): start-ups with descriptions."""

from __future__ import annotations

import re
from pathlib import Path

from matcher.data.fields import RecordError, decode_entities
from matcher.data.ingest import ImportReport, RowError, read_rows
from matcher.data.schema import Supplier, merge_suppliers

#: i-Lab technology domains → purchase segments (domains with no obvious segment map to none).
DOMAIN_SEGMENTS = {
    "biotechnologies et pharmacie": ["sante"],
    "pharmacie, sciences du vivant & biotechnologies": ["sante"],
    "pharmacie & biotechnologies": ["sante"],
    "technologies medicales": ["sante"],
    "services informatiques et autres": ["numerique"],
    "informatique, logiciel & tic": ["numerique"],
    "numerique, technologies logicielles & communication": ["numerique"],
    "electronique, signal & telecommunications": ["numerique"],
    "electronique, traitement du signal & instrumentation": ["numerique"],
}


def _key(text: str) -> str:
    from matcher.data.text import fold

    return fold(text).strip()


def read_ilab(path: str | Path) -> tuple[list[Supplier], ImportReport]:
    """Suppliers from ``ilab_laureates_*.csv``; a company that won twice is merged."""
    report = ImportReport()
    out: dict[str, Supplier] = {}
    for line, row in read_rows(path):
        report.read += 1
        if isinstance(row, RowError):
            report.errors.append(row)
            continue
        ident = decode_entities(row.get("identifiant"))
        siren = re.sub(r"\D", "", decode_entities(row.get("siren")))
        siret = re.sub(r"\D", "", decode_entities(row.get("siret")))
        if len(siren) != 9 and len(siret) == 14:
            siren = siret[:9]
        company = decode_entities(row.get("entreprise"))
        if not ident and len(siren) != 9:
            if not company:
                report.errors.append(RowError(str(path), line, "identifiant", "est requis quand siren, siret et entreprise sont vides"))
                continue
            ident = "nom-" + re.sub(r"[^a-z0-9]+", "-", _key(company)).strip("-")
        pitch, summary = decode_entities(row.get("moto")), decode_entities(row.get("resume"))
        description = " ".join(p if p.endswith((".", "!", "?")) else p + "." for p in (pitch, summary) if p)
        domain = decode_entities(row.get("domaine_technologique"))
        tags = ["i-lab"]
        if decode_entities(row.get("grand_prix")):
            tags.append("i-lab-laureat-prix")
        raw = {
            "supplier_id": siren if len(siren) == 9 else f"ilab:{ident}",
            "name": company or decode_entities(row.get("projet")) or f"Projet i-Lab {ident}",
            "description": description,
            "segments": DOMAIN_SEGMENTS.get(_key(domain), []),
            "region": decode_entities(row.get("region")).replace("île-de-France", "Île-de-France"),
            "tags": tags,
            "siren": siren if len(siren) == 9 else "",
            "website": decode_entities(row.get("site_web")),
            "ilab_id": ident,
            "ilab_year": decode_entities(row.get("annee")),
            "domain": domain,
        }
        try:
            supplier = Supplier.from_raw(raw)
        except RecordError as exc:
            field = {"description": "moto/resume"}.get(exc.field, exc.field)
            report.errors.append(RowError(str(path), line, field, exc.message))
            continue
        report.accepted += 1
        if supplier.supplier_id in out:
            report.merged += 1
            out[supplier.supplier_id] = merge_suppliers(out[supplier.supplier_id], supplier)
        else:
            out[supplier.supplier_id] = supplier
    return [out[k] for k in sorted(out)], report
