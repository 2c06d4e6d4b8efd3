"""Error answers in French for people, with stable codes for programs.

Every error answer carries a machine ``code`` (by HTTP status, see ``STATUS_CODES``) and a French
``detail``; a 422 lists each invalid field with the validation's own ``code`` (Pydantic's error
type: ``missing``, ``string_too_long`` …) and a French ``message``. Programs read the codes, people
the messages: a message may be reworded, a code never changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: the machine code of an error answer, by HTTP status
STATUS_CODES: dict[int, str] = {
    400: "invalid_body",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_input",
    429: "rate_limited",
    503: "unavailable",
}


def status_code_name(status: int) -> str:
    """The machine code of an error answer with this HTTP status."""
    return STATUS_CODES.get(status, "error" if status < 500 else "server_error")


def _n(value: Any, one: str, many: str) -> str:
    """``value`` with its French noun, singular for 0 and 1 (French usage), plural above."""
    try:
        count = float(value)
    except (TypeError, ValueError):
        return f"{value} {many}"
    return f"{_number(count)} {one if abs(count) < 2 else many}"


def _number(value: Any) -> str:
    """A number as French writes it: decimal comma, narrow no-break space between thousands."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if number.is_integer() and abs(number) < 1e15:
        return f"{int(number):,}".replace(",", "\u202f")
    return f"{number:,.6g}".replace(",", "\u202f").replace(".", ",")


#: Pydantic error type → the French message (``ctx`` holds the limits)
_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda c: "est obligatoire",
    "extra_forbidden": lambda c: "n'est pas un champ connu",
    "string_type": lambda c: "doit être un texte",
    "string_too_short": lambda c: f"doit contenir au moins {_n(c.get('min_length'), 'caractère', 'caractères')}",
    "string_too_long": lambda c: f"doit contenir au plus {_n(c.get('max_length'), 'caractère', 'caractères')}",
    "string_pattern_mismatch": lambda c: "n'a pas la forme attendue",
    "int_type": lambda c: "doit être un nombre entier",
    "int_parsing": lambda c: "doit être un nombre entier",
    "int_from_float": lambda c: "doit être un nombre entier",
    "float_type": lambda c: "doit être un nombre",
    "float_parsing": lambda c: "doit être un nombre",
    "finite_number": lambda c: "doit être un nombre fini",
    "bool_type": lambda c: "doit valoir true ou false",
    "bool_parsing": lambda c: "doit valoir true ou false",
    "greater_than": lambda c: f"doit être supérieur à {_number(c.get('gt'))}",
    "greater_than_equal": lambda c: f"doit être supérieur ou égal à {_number(c.get('ge'))}",
    "less_than": lambda c: f"doit être inférieur à {_number(c.get('lt'))}",
    "less_than_equal": lambda c: f"doit être inférieur ou égal à {_number(c.get('le'))}",
    "list_type": lambda c: "doit être une liste",
    "too_short": lambda c: f"doit contenir au moins {_n(c.get('min_length'), 'élément', 'éléments')}",
    "too_long": lambda c: f"doit contenir au plus {_n(c.get('max_length'), 'élément', 'éléments')}",
    "dict_type": lambda c: "doit être un objet JSON",
    "model_type": lambda c: "doit être un objet JSON",
    "model_attributes_type": lambda c: "doit être un objet JSON",
    "literal_error": lambda c: f"doit valoir {c.get('expected', 'une des valeurs permises')}".replace(" or ", " ou "),
    "enum": lambda c: f"doit valoir {c.get('expected', 'une des valeurs permises')}".replace(" or ", " ou "),
    "json_invalid": lambda c: "JSON invalide",
    "json_type": lambda c: "doit être du JSON",
    "date_from_datetime_parsing": lambda c: "doit être une date AAAA-MM-JJ",
    "date_parsing": lambda c: "doit être une date AAAA-MM-JJ",
    "url_parsing": lambda c: "doit être une adresse web",
}


def french_message(error: dict[str, Any]) -> str:
    """The French message of one Pydantic error (``ValidationError.errors()`` item).

    Our own validators raise ``ValueError`` with a French message already: it is kept as written."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        reason = ctx.get("error")
        text = str(reason) if reason is not None else str(error.get("msg", ""))
        return text.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    translate = _MESSAGES.get(kind)
    return translate(ctx) if translate is not None else "valeur refusée"


def field_errors(raw: Sequence[Any]) -> list[dict[str, str]]:
    """Each invalid field: its dotted name (without ``body``/``query``/``path``), its code and its French message."""
    return [
        {
            "field": ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header")),
            "code": str(e.get("type", "invalid")),
            "message": french_message(e),
        }
        for e in raw
    ]


def error_response(status: int, detail: str, errors: list[dict[str, str]] | None = None, headers: Mapping[str, str] | None = None) -> Any:
    """The one error answer: ``{"code", "detail", "errors"}`` with this HTTP status."""
    from fastapi.responses import JSONResponse

    return JSONResponse({"code": status_code_name(status), "detail": detail, "errors": errors or []}, status_code=status, headers=headers)
