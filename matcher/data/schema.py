"""Catalogue records: suppliers (with their past contracts), needs and relevance labels.

The fields follow ``FORMATS.md``. Validation errors are ``RecordError``s that name the
field, so that importers can report ``file:line: field: message``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from matcher.data.fields import (
    RecordError,
    amount_field,
    clean_text,
    cpv_list,
    date_field,
    decode_entities,
    extra_fields,
    identifier,
    normalize_cpv,
    string_list,
    text_field,
    text_key,
)

SEGMENTS = ("sante", "prestations-intellectuelles", "numerique", "immobilier")
SEGMENT_LABELS_FR = {
    "sante": "Santé",
    "prestations-intellectuelles": "Prestations intellectuelles",
    "numerique": "Services numériques",
    "immobilier": "Immobilier",
}
_SUPPLIER_FIELDS = {"supplier_id", "name", "description", "references", "segments", "cpv", "region", "tags", "siren", "website"}
_NEED_FIELDS = {"need_id", "buyer_id", "buyer_name", "title", "description", "cpv", "segment", "region", "date", "amount"}
_REFERENCE_FIELDS = {"objet", "cpv", "buyer_id", "buyer_name", "date", "amount"}


@dataclass
class Reference:
    """A past public contract of a supplier: evidence of what it can do."""

    objet: str
    cpv: str | None = None
    buyer_id: str = ""
    buyer_name: str = ""
    date: str | None = None
    amount: float | None = None

    def key(self) -> tuple:
        """Identity of a contract across publishers (accents and punctuation ignored)."""
        return (text_key(self.objet), self.cpv, self.buyer_id, self.date, self.amount)

    @classmethod
    def from_raw(cls, raw: Any, position: int) -> Reference:
        where = f"references[{position}]"
        if not isinstance(raw, dict):
            raise RecordError(where, f"un objet est attendu, pas un {type(raw).__name__}")
        objet = text_field(f"{where}.objet", raw.get("objet"))
        if not objet:
            raise RecordError(f"{where}.objet", "est requis et vide")
        cpv_raw = raw.get("cpv")
        cpv = normalize_cpv(cpv_raw)
        if cpv is None and clean_text(cpv_raw).strip("0"):  # all zeros: a placeholder for "unknown"
            raise RecordError(f"{where}.cpv", f"{cpv_raw!r} n'est pas un code CPV")
        return cls(
            objet=objet,
            cpv=cpv,
            buyer_id=identifier(f"{where}.buyer_id", raw.get("buyer_id"), required=False),
            buyer_name=text_field(f"{where}.buyer_name", raw.get("buyer_name")),
            date=date_field(f"{where}.date", raw.get("date")),
            amount=amount_field(f"{where}.amount", raw.get("amount")),
        )


#: company sizes, read from a supplier's optional ``size`` field (an extra field of FORMATS.md)
SIZES = ("micro", "pme", "eti", "grande")
SIZE_LABELS_FR = {"micro": "Micro-entreprise", "pme": "PME", "eti": "ETI", "grande": "Grande entreprise"}


@dataclass
class Supplier:
    """A start-up or SME of the catalogue."""

    supplier_id: str
    name: str
    description: str = ""
    references: list[Reference] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    cpv: list[str] = field(default_factory=list)
    region: str = ""
    tags: list[str] = field(default_factory=list)
    siren: str = ""
    website: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: Problems found in parts of the record that were skipped (not stored).
    issues: list[str] = field(default_factory=list, compare=False, repr=False)

    @property
    def size(self) -> str:
        """Its company size (one of ``SIZES``) when the record gives one, else ``""``."""
        value = str(self.extra.get("size") or "").strip().lower()
        return value if value in SIZES else ""

    @property
    def is_sme(self) -> bool:
        """An SME in the European sense (micro-enterprises included): size micro or pme; the tag ``pme``
        only where no size is recorded (a recorded size wins over a tag)."""
        return self.size in ("micro", "pme") if self.size else "pme" in self.tags

    def fits_sizes(self, sizes: Sequence[str]) -> bool:
        """Whether it is of one of these sizes, ``pme`` meaning any SME as its badge says (``is_sme``)."""
        return self.size in sizes or ("pme" in sizes and self.is_sme)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Supplier:
        """Validate one raw record (from JSONL, CSV or Parquet)."""
        refs_raw = raw.get("references")
        if isinstance(refs_raw, str):
            refs_raw = refs_raw.strip()
            try:
                refs_raw = json.loads(refs_raw) if refs_raw else []
            except json.JSONDecodeError as exc:
                raise RecordError("references", f"liste JSON invalide ({exc.msg})") from None
            except RecursionError:
                raise RecordError("references", "liste JSON invalide (imbriquée trop profondément)") from None
        if hasattr(refs_raw, "tolist"):
            refs_raw = refs_raw.tolist()  # type: ignore[union-attr]  # a NumPy array from Parquet
        if refs_raw is None or (isinstance(refs_raw, float) and refs_raw != refs_raw):
            refs_raw = []
        if not isinstance(refs_raw, list):
            raise RecordError("references", f"une liste d'objets est attendue, pas un {type(refs_raw).__name__}")
        supplier = cls(
            supplier_id=identifier("supplier_id", raw.get("supplier_id")),
            name=text_field("name", raw.get("name")),
            description=text_field("description", raw.get("description")),
            references=[],
            segments=_segments("segments", raw.get("segments")),
            cpv=cpv_list("cpv", raw.get("cpv")),
            region=text_field("region", raw.get("region")),
            tags=string_list("tags", raw.get("tags")),
            siren=identifier("siren", raw.get("siren"), required=False),
            website=text_field("website", raw.get("website")),
            extra=extra_fields(raw, _SUPPLIER_FIELDS),
        )
        # A bad past contract is skipped (and reported), never the whole supplier with it.
        for position, ref_raw in enumerate(refs_raw):
            try:
                supplier.references.append(Reference.from_raw(ref_raw, position))
            except RecordError as exc:
                supplier.issues.append(f"{exc} (contrat ignoré)")
        if not supplier.name:
            raise RecordError("name", "est requis et vide")
        if not supplier.description and not supplier.references:
            raise RecordError("description", "un fournisseur a besoin d'une description ou d'au moins un references[].objet")
        return supplier

    def to_dict(self) -> dict[str, Any]:
        """The FORMATS.md representation (extra fields kept at the top level)."""
        data = asdict(self)
        extra = data.pop("extra")
        data.pop("issues")
        data["references"] = [{k: v for k, v in r.items() if v not in (None, "")} for r in data["references"]]
        return {**extra, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Supplier:
        """Rebuild a stored (already valid) record."""
        return cls.from_raw(data)


@dataclass
class Need:
    """A buyer's recorded need."""

    need_id: str
    buyer_id: str
    buyer_name: str = ""
    title: str = ""
    description: str = ""
    cpv: list[str] = field(default_factory=list)
    segment: str = ""
    region: str = ""
    date: str | None = None
    amount: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The need as one text to match: title then description, HTML entities decoded."""
        title, description = decode_entities(self.title), decode_entities(self.description)
        if description and description.casefold() != title.casefold():
            return f"{title}. {description}" if title else description
        return title

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Need:
        segment = text_field("segment", raw.get("segment"))
        if segment and segment not in SEGMENTS:
            raise RecordError("segment", f"{segment!r} n'est pas un segment connu : {', '.join(SEGMENTS)}")
        need = cls(
            need_id=identifier("need_id", raw.get("need_id")),
            buyer_id=identifier("buyer_id", raw.get("buyer_id")),
            buyer_name=text_field("buyer_name", raw.get("buyer_name")),
            title=text_field("title", raw.get("title")),
            description=text_field("description", raw.get("description")),
            cpv=cpv_list("cpv", raw.get("cpv")),
            segment=segment,
            region=text_field("region", raw.get("region")),
            date=date_field("date", raw.get("date")),
            amount=amount_field("amount", raw.get("amount")),
            extra=extra_fields(raw, _NEED_FIELDS),
        )
        if not need.title and not need.description:
            raise RecordError("title", "un besoin a besoin d'un titre ou d'une description")
        return need

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        return {**extra, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Need:
        return cls.from_raw(data)


@dataclass(frozen=True)
class Label:
    """A graded relevance judgement (0 not relevant … 3 contracted)."""

    need_id: str
    supplier_id: str
    relevance: int

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Label:
        value = raw.get("relevance", "")
        try:
            grade = float(str(value).strip())
            if not grade.is_integer():
                raise ValueError
            relevance = int(grade)
        except ValueError:
            raise RecordError("relevance", f"{raw.get('relevance')!r} n'est pas une note entière de 0 à 3") from None
        if not 0 <= relevance <= 3:
            raise RecordError("relevance", f"{relevance} n'est pas une note entre 0 et 3")
        return cls(
            need_id=identifier("need_id", raw.get("need_id")),
            supplier_id=identifier("supplier_id", raw.get("supplier_id")),
            relevance=relevance,
        )


def _segments(name: str, value: Any) -> list[str]:
    segments = string_list(name, value)
    for segment in segments:
        if segment not in SEGMENTS:
            raise RecordError(name, f"{segment!r} n'est pas un segment connu : {', '.join(SEGMENTS)}")
    return segments


def canonical_references(references: list[Reference]) -> list[Reference]:
    """References without duplicates, sorted by date then object: the stored order."""
    unique: dict[tuple, Reference] = {}
    for ref in references:
        unique.setdefault(ref.key(), ref)
    return sorted(unique.values(), key=lambda r: (r.date or "", r.objet, r.buyer_id))


def merge_suppliers(old: Supplier, new: Supplier) -> Supplier:
    """Merge two records of the same supplier, deterministically.

    Scalars: the newer non-empty value wins. Lists: union in first-seen order.
    References: union without duplicates, sorted by date then object.
    """

    def pick(a: str, b: str) -> str:
        return b or a

    def union(a: list[str], b: list[str]) -> list[str]:
        return list(dict.fromkeys([*a, *b]))

    return Supplier(
        supplier_id=old.supplier_id,
        name=pick(old.name, new.name),
        description=pick(old.description, new.description),
        references=canonical_references([*old.references, *new.references]),
        segments=union(old.segments, new.segments),
        cpv=union(old.cpv, new.cpv),
        region=pick(old.region, new.region),
        tags=union(old.tags, new.tags),
        siren=pick(old.siren, new.siren),
        website=pick(old.website, new.website),
        extra={**old.extra, **new.extra},
    )
