"""Award rows streamed out of the published DECP files, cleaned, one row per (contract, holder).

Three layouts, as published: the 2019 JSON format (``{"marches": [...]}``, holders as
``titulaires: [{"typeIdentifiant", "id", "denominationSociale"}]``), the 2022 JSON format
mandatory since 2024 (``{"marches": {"marche": [...], "contrat-concession": [...]}}``, holders as
``titulaires: [{"titulaire": {"typeIdentifiant", "id"}}]``, the ``marcheInnovant`` flag), and the
tabular consolidation's CSV or Parquet (one row per contract and holder; its column names are
looked up among the spellings in ``TABULAR_COLUMNS``). JSON is read with ``ijson`` and tabular
files by DuckDB in record batches: no file is ever loaded whole into memory.

Dirty values are cleaned, never guessed: HTML entities decoded, ids stripped of spaces and
punctuation, placeholder holder ids (``00000000000000``) dropped, amounts that are not positive
or above ``MAX_AMOUNT`` and notification dates in the future or before ``MIN_DATE`` nulled — each
counted in the import's ``anomalies`` so that the barometer counts such awards apart.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matcher.barometer.geography import department_of_place, region_of_place
from matcher.data.decp import supplier_id_of
from matcher.data.fields import decode_entities, normalize_cpv

#: an award above this amount (euros excl. VAT) is taken for a typing error: its amount is nulled
#: (the tabular consolidation flags amounts above 99 million as suspicious; the largest real
#: framework agreements reach a few billion)
MAX_AMOUNT = 5e9
#: notification dates before this one are typing errors ("0201-03-04"): nulled
MIN_DATE = "2010-01-01"
#: errors kept in an import's summary (the others are counted)
MAX_EXAMPLES = 20

_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")
_ID_NOISE = re.compile(r"[\s,./]")
#: what publishers write in ``marcheInnovant`` (folded), and what it means
_TRUE = {"true", "1", "oui", "o", "yes", "y", "vrai"}
_FALSE = {"false", "0", "non", "n", "no", "faux"}

#: our field → the tabular consolidation's column names it may appear under (first found wins)
TABULAR_COLUMNS: dict[str, tuple[str, ...]] = {
    "contract_id": ("id", "idMarche", "id_marche"),
    "buyer_id": ("acheteur_id", "acheteur.id", "acheteurId"),
    "buyer_name": ("acheteur_nom", "acheteur.nom", "acheteur_name"),
    "holder_id": ("titulaire_id", "titulaire.id", "titulaires.id", "titulaire_id_1"),
    "holder_type": ("titulaire_typeIdentifiant", "titulaire.typeIdentifiant", "titulaire_type_identifiant"),
    "holder_name": ("titulaire_denominationSociale", "titulaire_nom", "titulaire.denominationSociale"),
    "objet": ("objet",),
    "cpv": ("codeCPV", "code_cpv", "codecpv"),
    "procedure": ("procedure",),
    "amount": ("montant",),
    "date": ("dateNotification", "date_notification", "datenotification"),
    "published": ("datePublicationDonnees", "date_publication_donnees"),
    "place_code": ("lieuExecution_code", "lieuExecution.code", "lieu_execution_code"),
    "place_type": ("lieuExecution_typeCode", "lieuExecution.typeCode", "lieu_execution_type_code"),
    "innovative_flag": ("marcheInnovant", "marche_innovant"),
    "source": ("source", "sourceDataset", "source_dataset"),
    "kind": ("_type", "type"),
}
#: columns a tabular file must have
TABULAR_REQUIRED = ("buyer_id", "holder_id", "amount", "date")


@dataclass
class AwardRow:
    """One holder of one contract, cleaned (what the barometer stores)."""

    source: str
    layout: str  # "2019", "2022" or "tabular"
    kind: str  # "marché" or "concession"
    contract_id: str  # the publisher's id, cleaned of spaces, commas, dots and slashes
    buyer_id: str  # SIRET (or what was published), cleaned
    buyer_name: str
    holder_id: str | None  # SIREN of a SIRET/SIREN holder, another id prefixed by its type, None: placeholder
    holder_name: str
    objet: str
    cpv: str | None
    procedure: str
    amount: float | None  # euros excl. VAT, None when missing, not positive or absurd
    date: str | None  # notification date, None when missing, malformed or out of range
    published: str | None  # publication date of the data (the latest publication of a contract wins)
    department: str | None  # of the place of execution
    region: str | None  # of the place of execution
    innovative_flag: bool | None  # ``marcheInnovant`` as the buyer filled it (2022 format), None when absent or junk
    where: str  # file:position, for messages


@dataclass
class ImportSummary:
    """What reading the files found: rows read and kept, anomalies counted by kind, the first errors."""

    contracts: int = 0  # read from JSON files (a tabular file has rows only: the store counts its contracts)
    rows: int = 0
    rejected: int = 0
    anomalies: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def reject(self, where: str, message: str) -> None:
        self.rejected += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{where} : {message}")

    def note(self, kind: str) -> None:
        self.anomalies[kind] += 1


def clean_id(value: Any) -> str:
    """An identifier without the spaces, commas, dots and slashes publishers leave in it."""
    return _ID_NOISE.sub("", decode_entities(value))


def innovative_flag(value: Any) -> bool | None:
    """``marcheInnovant`` cleaned: ``True``/``False`` from the spellings publishers use, ``None`` otherwise."""
    if isinstance(value, bool):
        return value
    text = decode_entities(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def clean_date(value: Any, summary: ImportSummary, today: str) -> str | None:
    """``YYYY-MM-DD`` of a notification date, ``None`` (counted) when missing, malformed or out of range."""
    match = _DATE.match(decode_entities(value))
    if not match:
        summary.note("date manquante ou illisible")
        return None
    try:
        date = dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3))).isoformat()
    except ValueError:
        summary.note("date manquante ou illisible")
        return None
    if date < MIN_DATE or date > today:
        summary.note("date hors plage (future ou avant 2010)")
        return None
    return date


def clean_amount(value: Any, summary: ImportSummary) -> float | None:
    """Euros excl. VAT, ``None`` (counted) when missing, not a number, not positive or above ``MAX_AMOUNT``."""
    if value is None or value == "":
        summary.note("montant manquant")
        return None
    try:
        amount = float(str(value).replace("\u202f", "").replace(" ", "").replace(",", "."))
    except ValueError:
        summary.note("montant illisible")
        return None
    if amount != amount or amount <= 0:  # NaN, zero, negative
        summary.note("montant nul ou négatif")
        return None
    if amount > MAX_AMOUNT:
        summary.note("montant aberrant (plus de 5 milliards)")
        return None
    return amount


def _rows_of_contract(raw: Any, where: str, source: str, layout: str, kind: str, summary: ImportSummary, today: str) -> Iterator[AwardRow]:
    """The rows of one JSON contract (one per usable holder; one with no holder when none is usable)."""
    if not isinstance(raw, dict):
        summary.reject(where, "un marché doit être un objet JSON")
        return
    summary.contracts += 1
    buyer = raw.get("acheteur") if isinstance(raw.get("acheteur"), dict) else {}
    place = raw.get("lieuExecution") if isinstance(raw.get("lieuExecution"), dict) else {}
    place_code, place_type = decode_entities(place.get("code")), decode_entities(place.get("typeCode"))  # type: ignore[union-attr]
    buyer_id = clean_id(buyer.get("id"))  # type: ignore[union-attr]
    if not buyer_id or len(set(buyer_id)) == 1:
        summary.note("acheteur sans identifiant")
        buyer_id = ""
    holders: list[tuple[str | None, str]] = []
    titulaires = raw.get("titulaires") if isinstance(raw.get("titulaires"), list) else []
    for entry in titulaires:  # type: ignore[union-attr]
        holder = entry.get("titulaire") if isinstance(entry, dict) and isinstance(entry.get("titulaire"), dict) else entry
        if not isinstance(holder, dict):
            continue
        sid = supplier_id_of(holder.get("id"), holder.get("typeIdentifiant"))
        if sid is None:
            summary.note("titulaire à identifiant factice")
        holders.append((sid, decode_entities(holder.get("denominationSociale"))))
    usable = [h for h in holders if h[0] is not None] or [(None, holders[0][1] if holders else "")]
    if not holders:
        summary.note("marché sans titulaire")
    common = {
        "source": decode_entities(raw.get("source")) or source,
        "layout": layout,
        "kind": kind,
        "contract_id": clean_id(raw.get("id")),
        "buyer_id": buyer_id,
        "buyer_name": decode_entities(buyer.get("nom")),  # type: ignore[union-attr]
        "objet": decode_entities(raw.get("objet")),
        "cpv": normalize_cpv(raw.get("codeCPV")),
        "procedure": decode_entities(raw.get("procedure")),
        "amount": clean_amount(raw.get("montant", raw.get("valeurGlobale")), summary),
        "date": clean_date(raw.get("dateNotification", raw.get("dateSignature")), summary, today),
        "published": (decode_entities(raw.get("datePublicationDonnees"))[:10] or None),
        "department": department_of_place(place_code, place_type),
        "region": region_of_place(place_code, place_type),
        "innovative_flag": innovative_flag(raw.get("marcheInnovant")) if "marcheInnovant" in raw else None,
        "where": where,
    }
    if "marcheInnovant" in raw and common["innovative_flag"] is None:
        summary.note("marcheInnovant illisible")
    for sid, name in usable:
        summary.rows += 1
        yield AwardRow(holder_id=sid, holder_name=name or (sid or ""), **common)  # type: ignore[arg-type]


def _json_shape(path: Path) -> str:
    """``list`` for ``{"marches": [...]}``, ``map`` for ``{"marches": {"marche": [...], …}}``."""
    import ijson  # streaming JSON: imported when a DECP file is read

    with path.open("rb") as handle:
        for prefix, event, _ in ijson.parse(handle):
            if prefix == "marches" and event in ("start_array", "start_map"):
                return "list" if event == "start_array" else "map"
            if prefix and not prefix.startswith("marches"):
                continue
    raise ValueError(f"{path} : un objet JSON avec « marches » est attendu (format DECP 2019 ou 2022)")


def read_json(path: str | Path, summary: ImportSummary, today: str | None = None) -> Iterator[AwardRow]:
    """The rows of a DECP JSON file (2019 or 2022 format), streamed."""
    import ijson

    path = Path(path)
    today = today or dt.date.today().isoformat()
    try:
        shape = _json_shape(path)
    except ijson.JSONError as exc:
        raise ValueError(f"{path} : JSON invalide ({exc})") from None
    prefixes = (
        [("marches.item", "marché")]
        if shape == "list"
        else [("marches.marche.item", "marché"), ("marches.contrat-concession.item", "concession")]
    )
    for prefix, kind in prefixes:
        with path.open("rb") as handle:
            try:
                for i, raw in enumerate(ijson.items(handle, prefix, use_float=True), start=1):
                    layout = "2022" if shape == "map" or _is_2022(raw) else "2019"
                    yield from _rows_of_contract(raw, f"{path.name}:{kind}[{i}]", path.stem, layout, kind, summary, today)
            except ijson.JSONError as exc:
                raise ValueError(f"{path} : JSON invalide après le {kind} n° {i if 'i' in locals() else 0} ({exc})") from None


def _is_2022(raw: Any) -> bool:
    """A contract written in the 2022 format inside a list-shaped file (holders nested, the innovation flag)."""
    if not isinstance(raw, dict):
        return False
    holders = raw.get("titulaires")
    nested = isinstance(holders, list) and any(isinstance(h, dict) and "titulaire" in h for h in holders)
    return nested or "marcheInnovant" in raw


def tabular_columns(names: list[str]) -> dict[str, str]:
    """Our field → the file's column, for the columns present; ``ValueError`` naming the required ones missing."""
    present = set(names)
    found = {
        ours: next(c for c in spellings if c in present)
        for ours, spellings in TABULAR_COLUMNS.items()
        if any(c in present for c in spellings)
    }
    missing = [f"{ours} ({' / '.join(TABULAR_COLUMNS[ours])})" for ours in TABULAR_REQUIRED if ours not in found]
    if missing:
        raise ValueError(f"colonnes manquantes : {', '.join(missing)}")
    return found


def read_tabular(path: str | Path, summary: ImportSummary, today: str | None = None, batch_rows: int = 50_000) -> Iterator[AwardRow]:
    """The rows of the tabular consolidation (CSV or Parquet, one row per contract and holder), read
    by DuckDB in record batches."""
    import duckdb  # the embedded analytical engine: imported when the barometer is used

    path = Path(path)
    today = today or dt.date.today().isoformat()
    reader = "read_parquet" if path.suffix.lower() == ".parquet" else "read_csv"
    options = "" if reader == "read_parquet" else ", all_varchar = true, header = true"
    con = duckdb.connect()
    try:
        relation = con.sql(f"SELECT * FROM {reader}(?{options})", params=[str(path)])
    except duckdb.Error as exc:
        raise ValueError(f"{path} : illisible ({exc})") from None
    try:
        columns = tabular_columns(list(relation.columns))
    except ValueError as exc:
        raise ValueError(f"{path} : {exc}") from None
    batches = relation.fetch_record_batch(batch_rows)
    line = 1  # the header
    for batch in batches:
        data = {ours: batch.column(theirs).to_pylist() for ours, theirs in columns.items()}
        for i in range(batch.num_rows):
            line += 1
            yield _tabular_row({ours: data[ours][i] for ours in columns}, f"{path.name}:{line}", path.stem, summary, today)
    con.close()


def _tabular_row(value: dict[str, Any], where: str, source: str, summary: ImportSummary, today: str) -> AwardRow:
    """One row of the tabular consolidation (a contract's holder: contracts are counted by the store)."""
    buyer_id = clean_id(value.get("buyer_id"))
    contract_id = clean_id(value.get("contract_id"))
    if not buyer_id or len(set(buyer_id)) == 1:
        summary.note("acheteur sans identifiant")
        buyer_id = ""
    sid = supplier_id_of(value.get("holder_id"), value.get("holder_type") or "")
    if sid is None:
        summary.note("titulaire à identifiant factice")
    kind = decode_entities(value.get("kind")).lower()
    place_code, place_type = decode_entities(value.get("place_code")), decode_entities(value.get("place_type"))
    summary.rows += 1
    return AwardRow(
        source=decode_entities(value.get("source")) or source,
        layout="tabular",
        kind="concession" if "concession" in kind else "marché",
        contract_id=contract_id,
        buyer_id=buyer_id,
        buyer_name=decode_entities(value.get("buyer_name")),
        holder_id=sid,
        holder_name=decode_entities(value.get("holder_name")) or (sid or ""),
        objet=decode_entities(value.get("objet")),
        cpv=normalize_cpv(value.get("cpv")),
        procedure=decode_entities(value.get("procedure")),
        amount=clean_amount(value.get("amount"), summary),
        date=clean_date(value.get("date"), summary, today),
        published=(decode_entities(value.get("published"))[:10] or None),
        department=department_of_place(place_code, place_type),
        region=region_of_place(place_code, place_type),
        innovative_flag=innovative_flag(value.get("innovative_flag")) if value.get("innovative_flag") not in (None, "") else None,
        where=where,
    )


def read_awards(path: str | Path, summary: ImportSummary, today: str | None = None) -> Iterator[AwardRow]:
    """The rows of one published file, by its extension: ``.json``, ``.csv`` or ``.parquet``."""
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return read_json(path, summary, today)
    if suffix in (".csv", ".parquet"):
        return read_tabular(path, summary, today)
    raise ValueError(f"{path} : format inconnu (attendu : .json au format DECP, .csv ou .parquet de la consolidation tabulaire)")
