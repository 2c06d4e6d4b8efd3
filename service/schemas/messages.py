"""Error answers in French for people, with stable codes for programs.

Every error answer carries a machine ``code`` (by HTTP status, see ``STATUS_CODES``) and a French
``detail``; a 422 lists each invalid field with the validation's own ``code`` (Pydantic's error
type: ``missing``, ``string_too_long`` …) and a French ``message``. Programs read the codes, people
the messages: a message may be reworded, a code never changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi.responses import JSONResponse

from matcher.app.vocabulary import count_fr, number_fr

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


#: Pydantic error types that read the same to a person, and their French message
_FIXED: dict[tuple[str, ...], str] = {
    ("missing",): "est obligatoire",
    ("extra_forbidden",): "n'est pas un champ connu",
    ("string_type",): "doit être un texte",
    ("string_pattern_mismatch",): "n'a pas la forme attendue",
    ("int_type", "int_parsing", "int_from_float"): "doit être un nombre entier",
    ("float_type", "float_parsing"): "doit être un nombre",
    ("finite_number",): "doit être un nombre fini",
    ("bool_type", "bool_parsing"): "doit valoir true ou false",
    ("list_type",): "doit être une liste",
    ("dict_type", "model_type", "model_attributes_type"): "doit être un objet JSON",
    ("json_invalid",): "JSON invalide",
    ("json_type",): "doit être du JSON",
    ("date_from_datetime_parsing", "date_parsing"): "doit être une date AAAA-MM-JJ",
    ("url_parsing",): "doit être une adresse web",
}
#: Pydantic error types whose message quotes their limit (``ctx``)
_WITH_LIMIT: dict[str, Callable[[dict[str, Any]], str]] = {
    "string_too_short": lambda c: f"doit contenir au moins {count_fr(c.get('min_length'), 'caractère', 'caractères')}",
    "string_too_long": lambda c: f"doit contenir au plus {count_fr(c.get('max_length'), 'caractère', 'caractères')}",
    "too_short": lambda c: f"doit contenir au moins {count_fr(c.get('min_length'), 'élément', 'éléments')}",
    "too_long": lambda c: f"doit contenir au plus {count_fr(c.get('max_length'), 'élément', 'éléments')}",
    "greater_than": lambda c: f"doit être supérieur à {number_fr(c.get('gt'))}",
    "greater_than_equal": lambda c: f"doit être supérieur ou égal à {number_fr(c.get('ge'))}",
    "less_than": lambda c: f"doit être inférieur à {number_fr(c.get('lt'))}",
    "less_than_equal": lambda c: f"doit être inférieur ou égal à {number_fr(c.get('le'))}",
    "literal_error": lambda c: f"doit valoir {c.get('expected', 'une des valeurs permises')}".replace(" or ", " ou "),
    "enum": lambda c: f"doit valoir {c.get('expected', 'une des valeurs permises')}".replace(" or ", " ou "),
}
_FIXED_BY_TYPE = {kind: text for kinds, text in _FIXED.items() for kind in kinds}


def french_message(error: dict[str, Any]) -> str:
    """The French message of one Pydantic error (``ValidationError.errors()`` item).

    Our own validators raise ``ValueError`` with a French message already: it is kept as written."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        reason = ctx.get("error")
        text = str(reason) if reason is not None else str(error.get("msg", ""))
        return text.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in _FIXED_BY_TYPE:
        return _FIXED_BY_TYPE[kind]
    translate = _WITH_LIMIT.get(kind)
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


def error_response(
    status: int, detail: str, errors: list[dict[str, str]] | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The one error answer: ``{"code", "detail", "errors"}`` with this HTTP status."""
    return JSONResponse({"code": status_code_name(status), "detail": detail, "errors": errors or []}, status_code=status, headers=headers)
