"""How each field of a record is checked and cleaned: the rules every ingestion path applies.

One canonical form for identifiers (``canonical_id``), valid Unicode for text (``check_unicode``),
cleaning that keeps what was sent (``clean_text``) and a matching view with HTML entities
decoded (``decode_entities``), dates, amounts, CPV codes, lists and extra fields. Each rule raises a
``RecordError`` that names the field, so that importers can report ``file:line: field: message``.
"""

from __future__ import annotations

import datetime
import decimal
import html
import json
import math
import re
import unicodedata
from typing import Any

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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


def string_list(name: str, value: Any) -> list[str]:
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
                raise RecordError(name, f"liste JSON invalide ({exc.msg})") from None
            except RecursionError:
                raise RecordError(name, "liste JSON invalide (imbriquée trop profondément)") from None
        else:
            return [clean_text(part) for part in stripped.split(";") if clean_text(part)]
    if hasattr(value, "tolist"):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise RecordError(name, f"une liste de textes est attendue, pas un {type(value).__name__}")
    return [clean_text(v) for v in value if clean_text(v)]


def cpv_list(name: str, value: Any) -> list[str]:
    codes = []
    for raw in string_list(name, value):
        code = normalize_cpv(raw)
        if code is None and not raw.strip("0"):
            continue  # all zeros: a placeholder for "unknown"
        if code is None:
            raise RecordError(name, f"{raw!r} n'est pas un code CPV (8 chiffres, par exemple 72000000)")
        if code not in codes:
            codes.append(code)
    return codes


def date_field(name: str, value: Any) -> str | None:
    text = clean_text(value)
    if not text:
        return None
    text = text[:10]
    try:
        if not _DATE.match(text):
            raise ValueError
        datetime.date.fromisoformat(text)
    except ValueError:
        raise RecordError(name, f"{value!r} n'est pas une date (AAAA-MM-JJ)") from None
    return text


def fractional_year(date: str | None) -> float | None:
    """A ``YYYY-MM-DD`` date as a fractional year (2019-07-01 → about 2019.5); ``None`` when not such a date."""
    if not date or len(date) < 10:
        return None
    try:
        return int(date[:4]) + (int(date[5:7]) - 1) / 12 + (int(date[8:10]) - 1) / 365
    except ValueError:
        return None


def amount_field(name: str, value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value != value:
        return None
    try:
        amount = float(str(value).replace(" ", "").replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise RecordError(name, f"{value!r} n'est pas un montant en euros") from None
    if amount < 0 or amount != amount or amount == float("inf"):
        raise RecordError(name, f"{value!r} n'est pas un montant positif ou nul")
    return amount


def identifier(name: str, value: Any, required: bool = True) -> str:
    return canonical_id(value, name, required)


def extra_fields(raw: dict[str, Any], known: set[str]) -> dict[str, Any]:
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
