"""Importer for the official French award data (DECP JSON, 2017–2019 regulatory format).

Each award (``marches[i]``) yields a reference for each of its holders (``titulaires``),
who become suppliers keyed by SIREN (first 9 digits of a SIRET), and a buyer. Real files
are dirty: placeholder ids, missing dates, HTML entities, the same award published by
several sources. A bad holder or field is skipped with a warning; an award without an
object is rejected and reported; nothing crashes the import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.data.fields import RecordError, check_unicode, decode_entities, normalize_cpv, text_key
from matcher.data.ingest import ImportReport, InputFileError, RowError
from matcher.data.schema import Reference, Supplier, merge_suppliers

_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")


@dataclass
class Award:
    """One award, cleaned: who bought what from whom."""

    award_id: str
    buyer_id: str
    buyer_name: str
    objet: str
    cpv: str | None
    date: str | None
    amount: float | None
    region: str
    holders: list[tuple[str, str]]  # (supplier_id, name)
    source: str

    def key(self) -> tuple:
        """Identity across publishers: same buyer, object, date, amount and holders."""
        return (self.buyer_id, text_key(self.objet), self.date, self.amount, tuple(sorted(h for h, _ in self.holders)))


def supplier_id_of(identifier: Any, kind: Any) -> str | None:
    """SIREN of a SIRET/SIREN, the raw id for other types; ``None`` for placeholders."""
    ident = re.sub(r"\s+", "", decode_entities(identifier))
    kind = decode_entities(kind).upper()
    if not ident:
        return None
    if ident.isdigit():
        if len(set(ident)) == 1 or len(set(ident[:9])) == 1:  # 00000000000000, 99999999999999, 00000000000019 …
            return None
        if len(ident) in (9, 14) and kind in ("", "SIRET", "SIREN"):
            return ident[:9]
        if kind in ("SIRET", "SIREN"):
            return None
    if len(ident) < 4:
        return None
    return f"{kind.lower() or 'id'}:{ident}"


def _amount(value: Any) -> float | None:
    try:
        amount = float(str(value).replace(",", ".").replace(" ", "")) if value not in (None, "") else None
    except ValueError:
        return None
    return amount if amount is not None and 0 <= amount < 1e11 else None


def parse_award(raw: Any, where: str, source: str, report: ImportReport) -> Award | None:
    """Validate one award; problems are added to ``report`` (errors or warnings)."""
    file, line = where.rsplit(":", 1)
    number = int(line)
    if not isinstance(raw, dict):
        report.errors.append(RowError(file, number, "-", "un marché doit être un objet JSON"))
        return None
    try:
        check_unicode(raw, "award")
    except RecordError as exc:
        report.errors.append(RowError(file, number, exc.field, exc.message))
        return None
    objet = decode_entities(raw.get("objet"))
    if not objet:
        report.errors.append(RowError(file, number, "objet", "est requis et vide"))
        return None
    buyer: dict[str, Any] = raw["acheteur"] if isinstance(raw.get("acheteur"), dict) else {}
    buyer_id = re.sub(r"\s+", "", decode_entities(buyer.get("id")))
    if buyer_id and len(set(buyer_id)) == 1:
        buyer_id = ""
    date_match = _DATE.match(decode_entities(raw.get("dateNotification")))
    if not date_match:
        report.warnings.append(
            f"{where}: dateNotification: missing or invalid ({raw.get('dateNotification')!r}); contract kept without date"
        )
    amount = _amount(raw.get("montant"))
    if amount is None and raw.get("montant") not in (None, ""):
        report.warnings.append(f"{where}: montant: {raw.get('montant')!r} n'est pas un montant ; marché gardé sans montant")
    cpv = normalize_cpv(raw.get("codeCPV"))
    holders = []
    titulaires = raw.get("titulaires") or []
    if not isinstance(titulaires, list):
        titulaires = []
    for j, holder in enumerate(titulaires):
        if not isinstance(holder, dict):
            continue
        sid = supplier_id_of(holder.get("id"), holder.get("typeIdentifiant"))
        if sid is None:
            report.warnings.append(
                f"{where}: titulaires[{j}].id: {holder.get('id')!r} est un identifiant factice ou invalide ; titulaire ignoré"
            )
            continue
        holders.append((sid, decode_entities(holder.get("denominationSociale")) or sid))
    place: dict[str, Any] = raw["lieuExecution"] if isinstance(raw.get("lieuExecution"), dict) else {}
    return Award(
        award_id=decode_entities(raw.get("id")),
        buyer_id=buyer_id,
        buyer_name=decode_entities(buyer.get("nom")),
        objet=objet,
        cpv=cpv,
        date=date_match.group(1) if date_match else None,
        amount=amount,
        region=decode_entities(place.get("nom")),
        holders=holders,
        source=decode_entities(raw.get("source")) or source,
    )


def read_awards(paths: Iterable[str | Path]) -> tuple[list[Award], ImportReport]:
    """Every award of the files, deduplicated across publishers (first seen kept)."""
    report = ImportReport()
    awards: dict[tuple, Award] = {}
    for path in paths:
        path = Path(path)
        try:
            data = json.loads(path.read_bytes().decode("utf-8-sig"))
        except FileNotFoundError:
            raise InputFileError(f"{path}: fichier introuvable") from None
        except UnicodeDecodeError as exc:
            raise InputFileError(f"{path}: pas en UTF-8 valide (octet {exc.start})") from None
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{path}:{exc.lineno}: JSON invalide : {exc.msg} (colonne {exc.colno})") from None
        marches = data.get("marches") if isinstance(data, dict) else None
        if isinstance(marches, dict) and "marche" in marches:  # some publishers nest one level deeper
            marches = marches["marche"]
        if not isinstance(marches, list):
            raise InputFileError(f"{path}: un objet JSON avec une liste « marches » est attendu (format DECP)")
        for i, raw in enumerate(marches, start=1):
            report.read += 1
            award = parse_award(raw, f"{path}:{i}", path.stem, report)
            if award is None:
                continue
            report.accepted += 1
            key = award.key()
            if key in awards:
                report.merged += 1
            else:
                awards[key] = award
    return list(awards.values()), report


def suppliers_from_awards(awards: Iterable[Award]) -> list[Supplier]:
    """One supplier per holder, with a reference for each award it won."""
    out: dict[str, Supplier] = {}
    for award in awards:
        ref = Reference(award.objet, award.cpv, award.buyer_id, award.buyer_name, award.date, award.amount)
        for sid, name in award.holders:
            supplier = Supplier(supplier_id=sid, name=name, references=[ref], siren=sid if sid.isdigit() else "")
            out[sid] = merge_suppliers(out[sid], supplier) if sid in out else supplier
    return [out[k] for k in sorted(out)]


def buyers_from_awards(awards: Iterable[Award]) -> dict[str, str]:
    """``{buyer_id: name}`` of every buyer with an id."""
    buyers: dict[str, str] = {}
    for award in awards:
        if award.buyer_id:
            buyers.setdefault(award.buyer_id, award.buyer_name)
    return buyers


@dataclass
class DecpBenchmark:
    """A need → supplier benchmark split in time from award data."""

    suppliers: list[Supplier]
    needs: list[dict[str, Any]]
    qrels: list[tuple[str, str, int]]
    slices: list[tuple[str, str]]

    def write(self, folder: str | Path) -> None:
        """``suppliers.jsonl``, ``needs.jsonl``, ``qrels.tsv``, ``slices.tsv`` (FORMATS.md)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "suppliers.jsonl").open("w", encoding="utf-8") as handle:
            for s in self.suppliers:
                handle.write(json.dumps(s.to_dict(), ensure_ascii=False) + "\n")
        with (folder / "needs.jsonl").open("w", encoding="utf-8") as handle:
            for need in self.needs:
                handle.write(json.dumps(need, ensure_ascii=False) + "\n")
        (folder / "qrels.tsv").write_text(
            "need_id\tsupplier_id\trelevance\n" + "".join(f"{n}\t{s}\t{g}\n" for n, s, g in self.qrels), encoding="utf-8"
        )
        (folder / "slices.tsv").write_text("need_id\tslice\n" + "".join(f"{n}\t{s}\n" for n, s in self.slices), encoding="utf-8")


def benchmark_from_awards(awards: Iterable[Award], split_date: str, end_date: str | None = None) -> DecpBenchmark:
    """Profiles from awards notified before ``split_date``; needs from those on or after it.

    A need is an award of the later period with at least one holder that has a profile (its
    winners are the labels, grade 1). One need per procedure: other lots of the same buyer's
    procedure (same id stem or same object) are dropped.
    Slice ``new-pair``: no winner had served that buyer before; ``repeat``: one had.
    """
    awards = sorted(awards, key=lambda a: (a.date or "", a.buyer_id, a.award_id, a.objet))
    before = [a for a in awards if a.date and a.date < split_date]
    after = [a for a in awards if a.date and a.date >= split_date and (end_date is None or a.date < end_date)]
    suppliers = suppliers_from_awards(before)
    profiles = {s.supplier_id: s for s in suppliers}
    needs: list[dict[str, Any]] = []
    qrels: list[tuple[str, str, int]] = []
    slices: list[tuple[str, str]] = []
    seen: set[tuple] = set()
    for award in after:
        winners = sorted({sid for sid, _ in award.holders if sid in profiles})
        need_id = f"{award.buyer_id}-{award.award_id or text_key(award.objet)[:40]}"
        # lots of one procedure share the id stem (last two characters number the lot) or the object
        same_need = {(award.buyer_id, "id", award.award_id[:-2]), (award.buyer_id, "objet", text_key(award.objet))}
        if not winners or not award.buyer_id or same_need & seen:
            continue
        seen |= same_need
        needs.append(
            {
                "need_id": need_id,
                "buyer_id": award.buyer_id,
                "buyer_name": award.buyer_name,
                "title": award.objet,
                "description": "",
                "cpv": [award.cpv] if award.cpv else [],
                "region": award.region,
                "date": award.date,
                "amount": award.amount,
            }
        )
        qrels.extend((need_id, sid, 1) for sid in winners)
        served = any(award.buyer_id in {r.buyer_id for r in profiles[sid].references} for sid in winners)
        slices.append((need_id, "repeat" if served else "new-pair"))
    return DecpBenchmark(suppliers, needs, qrels, slices)
