"""Catalogue records: suppliers (with their past contracts), needs and relevance labels.

The fields follow ``FORMATS.md``. Validation errors are ``RecordError``s that name the
field, so that importers can report ``file:line: field: message``.
"""

from __future__ import annotations

import datetime
import decimal
import html
import json
import math
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

SEGMENTS = ("sante", "prestations-intellectuelles", "numerique", "immobilier")
SEGMENT_LABELS_FR = {
    "sante": "Santé",
    "prestations-intellectuelles": "Prestations intellectuelles",
    "numerique": "Services numériques",
    "immobilier": "Immobilier",
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SUPPLIER_FIELDS = {"supplier_id", "name", "description", "references", "segments", "cpv", "region", "tags", "siren", "website"}
_NEED_FIELDS = {"need_id", "buyer_id", "buyer_name", "title", "description", "cpv", "segment", "region", "date", "amount"}
_REFERENCE_FIELDS = {"objet", "cpv", "buyer_id", "buyer_name", "date", "amount"}


class RecordError(ValueError):
    """A record that cannot be accepted; ``field`` names the culprit."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
#: the longest text field a record may hold (a need's or a supplier's description, a name …); the
#: encoder reads far less, this only refuses absurd cells before they are stored
MAX_RECORD_TEXT_CHARS = 100_000
#: the longest identifier (need, supplier, buyer, key ids)
MAX_ID_CHARS = 200
#: Unicode categories an identifier may not hold: controls, format characters (zero-width, bidi
#: controls, BOM), private-use and unassigned code points, line and paragraph separators
_ID_FORBIDDEN = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"})


def unicode_problem(text: str) -> str | None:
    """Why ``text`` is not valid Unicode (a lone surrogate: it cannot be written as UTF-8), else ``None``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"n'est pas de l'Unicode valide (demi-codet isolé U+{ord(text[exc.start]):04X}, caractère {exc.start + 1})"
    return None


def check_unicode(value: Any, name: str) -> None:
    """``RecordError`` naming the field if ``value`` (a string, or lists / objects of them, at any depth) holds invalid Unicode."""
    stack: list[tuple[Any, str]] = [(value, name)]
    while stack:  # iterative: a value nested thousands deep must not exhaust the interpreter's stack
        item, where = stack.pop()
        if isinstance(item, str):
            problem = unicode_problem(item)
            if problem:
                raise RecordError(where, problem)
        elif isinstance(item, dict):
            for key, sub in item.items():
                stack.append((key, where))
                stack.append((sub, f"{where}.{key}" if isinstance(key, str) and unicode_problem(key) is None else where))
        elif isinstance(item, (list, tuple)):
            stack.extend((sub, f"{where}[{i}]") for i, sub in enumerate(item))


def clean_text(value: Any) -> str:
    """Strip, drop control characters and collapse white space; keep everything else (HTML entities too:
    what was sent is stored, and escaped on output)."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from pandas
        return ""
    return " ".join(_CONTROL.sub("", str(value)).split())  # str.split() splits on every Unicode space, 3× faster than a regex


def decode_entities(value: Any) -> str:
    """``clean_text`` with HTML entities decoded: public award data is published HTML-escaped
    (``d&#039;eau``), and matching reads what a person would read."""
    text = clean_text(value)
    return clean_text(html.unescape(text)) if "&" in text else text


def text_field(name: str, value: Any, max_chars: int = MAX_RECORD_TEXT_CHARS) -> str:
    """A record's text field: refused (naming it) when not valid Unicode or longer than ``max_chars``; cleaned."""
    if isinstance(value, str):
        check_unicode(value, name)
    text = clean_text(value)
    if len(text) > max_chars:
        raise RecordError(name, f"dépasse {max_chars} caractères ({len(text)})")
    return text


def canonical_id(value: Any, name: str, required: bool = True) -> str:
    """The one canonical form of an identifier (need, supplier, buyer, key ids), applied at every boundary.

    White space (any Unicode space, no-break and NEL included) is stripped at both ends and collapsed
    inside, and the text is put in Unicode NFC, so that ``"demo-n05 "`` and ``"demo-n05"`` are one id.
    Refused with a ``RecordError`` naming the field: invalid Unicode, control / format / invisible
    characters (zero-width, bidi controls), more than ``MAX_ID_CHARS`` characters, or empty when
    ``required``. HTML entities are not decoded: ``demo&#45;n05`` is a different id from ``demo-n05``.
    """
    if value is None or (isinstance(value, float) and value != value):
        text = ""
    elif isinstance(value, bool):
        raise RecordError(name, f"un identifiant est un texte, pas {value!r}")
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, str):
        text = value
    else:
        raise RecordError(name, f"un identifiant est un texte, pas un {type(value).__name__}")
    problem = unicode_problem(text)
    if problem:
        raise RecordError(name, problem)
    text = " ".join(text.split())
    if not (text.isascii() and text.isprintable()):  # the common case needs no per-character look
        text = unicodedata.normalize("NFC", text)
        for ch in text:
            if unicodedata.category(ch) in _ID_FORBIDDEN:
                raise RecordError(name, f"contient le caractère invisible ou de contrôle U+{ord(ch):04X}")
    if required and not text:
        raise RecordError(name, "est requis et vide")
    if len(text) > MAX_ID_CHARS:
        raise RecordError(name, f"dépasse {MAX_ID_CHARS} caractères")
    return text


def text_key(text: str) -> str:
    """Lower-case letters and digits only, accents folded (a lost accent ``�`` read as ``e``), entities decoded."""
    folded = unicodedata.normalize("NFKD", decode_entities(text).replace("\ufffd", "e").casefold())
    return "".join(ch for ch in folded if ch.isalnum() and not unicodedata.combining(ch))


def normalize_cpv(value: Any) -> str | None:
    """Return an 8-digit CPV code, or ``None`` when the value holds no usable code.

    Accepts ``"72000000"``, ``"72000000-5"`` (check digit), ``72000000`` and codes whose
    leading zero was lost (``"9310000"`` → ``"09310000"``).
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    text = text.split("-")[0].strip()
    if text.endswith(".0"):
        text = text[:-2]
    if not text.isdigit() or not 6 <= len(text) <= 8:
        return None
    code = text.zfill(8)
    if code == "00000000":
        return None
    return code


def _string_list(name: str, value: Any) -> list[str]:
    """A list of strings from a list, a JSON array string or a ``;``-separated string."""
    if value is None:
        return []
    if isinstance(value, float) and value != value:
        return []
    check_unicode(value, name)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                value = json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise RecordError(name, f"not a valid JSON list ({exc.msg})") from None
            except RecursionError:
                raise RecordError(name, "liste JSON invalide (imbriquée trop profondément)") from None
        else:
            return [clean_text(part) for part in stripped.split(";") if clean_text(part)]
    if hasattr(value, "tolist"):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise RecordError(name, f"expected a list of strings, got {type(value).__name__}")
    return [clean_text(v) for v in value if clean_text(v)]


def _cpv_list(name: str, value: Any) -> list[str]:
    codes = []
    for raw in _string_list(name, value):
        code = normalize_cpv(raw)
        if code is None and not raw.strip("0"):
            continue  # all zeros: a placeholder for "unknown"
        if code is None:
            raise RecordError(name, f"{raw!r} is not a CPV code (8 digits, e.g. 72000000)")
        if code not in codes:
            codes.append(code)
    return codes


def _date(name: str, value: Any) -> str | None:
    text = clean_text(value)
    if not text:
        return None
    text = text[:10]
    try:
        if not _DATE.match(text):
            raise ValueError
        datetime.date.fromisoformat(text)
    except ValueError:
        raise RecordError(name, f"{value!r} is not a date (YYYY-MM-DD)") from None
    return text


def fractional_year(date: str | None) -> float | None:
    """A ``YYYY-MM-DD`` date as a fractional year (2019-07-01 → about 2019.5); ``None`` when not such a date."""
    if not date or len(date) < 10:
        return None
    try:
        return int(date[:4]) + (int(date[5:7]) - 1) / 12 + (int(date[8:10]) - 1) / 365
    except ValueError:
        return None


def _amount(name: str, value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value != value:
        return None
    try:
        amount = float(str(value).replace(" ", "").replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise RecordError(name, f"{value!r} is not a number of euros") from None
    if amount < 0 or amount != amount or amount == float("inf"):
        raise RecordError(name, f"{value!r} is not a non-negative amount")
    return amount


def _identifier(name: str, value: Any, required: bool = True) -> str:
    return canonical_id(value, name, required)


def _extra(raw: dict[str, Any], known: set[str]) -> dict[str, Any]:
    out = {}
    for key, value in raw.items():
        if key in known or value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, float) and value != value:
            continue
        if hasattr(value, "tolist"):
            value = value.tolist()
        check_unicode(key, str(key))
        check_unicode(value, str(key))
        if _depth(value) > MAX_EXTRA_DEPTH:
            raise RecordError(str(key), f"imbriqué sur plus de {MAX_EXTRA_DEPTH} niveaux")
        out[str(key)] = _json_value(str(key), value)
    return out


def _json_value(name: str, value: Any) -> Any:
    """An extra field's value as JSON can store it: dates as ISO text, decimals as numbers; ``RecordError`` otherwise."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _json_value(f"{name}.{k}", v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(name, v) for v in value]
    raise RecordError(name, f"une valeur {type(value).__name__} ne peut pas être enregistrée (texte, nombres, dates, listes ou objets)")


#: how deep an extra field's value may nest lists and objects (kept, stored as JSON)
MAX_EXTRA_DEPTH = 20


def _depth(value: Any) -> int:
    """How deep lists and objects nest in ``value`` (0 for a scalar), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, tuple, dict)):
            level += 1
            deepest = max(deepest, level)
            if deepest > MAX_EXTRA_DEPTH:
                return deepest
            stack.extend((sub, level) for sub in (item.values() if isinstance(item, dict) else item))
    return deepest


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
            raise RecordError(where, f"expected an object, got {type(raw).__name__}")
        objet = text_field(f"{where}.objet", raw.get("objet"))
        if not objet:
            raise RecordError(f"{where}.objet", "is required and empty")
        cpv_raw = raw.get("cpv")
        cpv = normalize_cpv(cpv_raw)
        if cpv is None and clean_text(cpv_raw).strip("0"):  # all zeros: a placeholder for "unknown"
            raise RecordError(f"{where}.cpv", f"{cpv_raw!r} is not a CPV code")
        return cls(
            objet=objet,
            cpv=cpv,
            buyer_id=_identifier(f"{where}.buyer_id", raw.get("buyer_id"), required=False),
            buyer_name=text_field(f"{where}.buyer_name", raw.get("buyer_name")),
            date=_date(f"{where}.date", raw.get("date")),
            amount=_amount(f"{where}.amount", raw.get("amount")),
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
        """Flagged as an SME: size micro / pme, or the tag ``pme``."""
        return self.size in ("micro", "pme") or "pme" in self.tags

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Supplier:
        """Validate one raw record (from JSONL, CSV or Parquet)."""
        refs_raw = raw.get("references")
        if isinstance(refs_raw, str):
            refs_raw = refs_raw.strip()
            try:
                refs_raw = json.loads(refs_raw) if refs_raw else []
            except json.JSONDecodeError as exc:
                raise RecordError("references", f"not a valid JSON list ({exc.msg})") from None
            except RecursionError:
                raise RecordError("references", "liste JSON invalide (imbriquée trop profondément)") from None
        if hasattr(refs_raw, "tolist"):
            refs_raw = refs_raw.tolist()  # type: ignore[union-attr]  # a NumPy array from Parquet
        if refs_raw is None or (isinstance(refs_raw, float) and refs_raw != refs_raw):
            refs_raw = []
        if not isinstance(refs_raw, list):
            raise RecordError("references", f"expected a list of objects, got {type(refs_raw).__name__}")
        supplier = cls(
            supplier_id=_identifier("supplier_id", raw.get("supplier_id")),
            name=text_field("name", raw.get("name")),
            description=text_field("description", raw.get("description")),
            references=[],
            segments=_segments("segments", raw.get("segments")),
            cpv=_cpv_list("cpv", raw.get("cpv")),
            region=text_field("region", raw.get("region")),
            tags=_string_list("tags", raw.get("tags")),
            siren=_identifier("siren", raw.get("siren"), required=False),
            website=text_field("website", raw.get("website")),
            extra=_extra(raw, _SUPPLIER_FIELDS),
        )
        # A bad past contract is skipped (and reported), never the whole supplier with it.
        for position, ref_raw in enumerate(refs_raw):
            try:
                supplier.references.append(Reference.from_raw(ref_raw, position))
            except RecordError as exc:
                supplier.issues.append(f"{exc} (contrat ignoré)")
        if not supplier.name:
            raise RecordError("name", "is required and empty")
        if not supplier.description and not supplier.references:
            raise RecordError("description", "a supplier needs a description or at least one references[].objet")
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
            raise RecordError("segment", f"{segment!r} is not one of {', '.join(SEGMENTS)}")
        need = cls(
            need_id=_identifier("need_id", raw.get("need_id")),
            buyer_id=_identifier("buyer_id", raw.get("buyer_id")),
            buyer_name=text_field("buyer_name", raw.get("buyer_name")),
            title=text_field("title", raw.get("title")),
            description=text_field("description", raw.get("description")),
            cpv=_cpv_list("cpv", raw.get("cpv")),
            segment=segment,
            region=text_field("region", raw.get("region")),
            date=_date("date", raw.get("date")),
            amount=_amount("amount", raw.get("amount")),
            extra=_extra(raw, _NEED_FIELDS),
        )
        if not need.title and not need.description:
            raise RecordError("title", "a need needs a non-empty title or description")
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
            raise RecordError("relevance", f"{raw.get('relevance')!r} is not an integer grade 0-3") from None
        if not 0 <= relevance <= 3:
            raise RecordError("relevance", f"{relevance} is not a grade between 0 and 3")
        return cls(
            need_id=_identifier("need_id", raw.get("need_id")),
            supplier_id=_identifier("supplier_id", raw.get("supplier_id")),
            relevance=relevance,
        )


def _segments(name: str, value: Any) -> list[str]:
    segments = _string_list(name, value)
    for segment in segments:
        if segment not in SEGMENTS:
            raise RecordError(name, f"{segment!r} is not one of {', '.join(SEGMENTS)}")
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
