"""How French writes numbers and counts, for every message a person reads (page, API errors, CLI, exports).

A narrow no-break space between thousands, a decimal comma, and a noun in the singular for 0 and 1.
"""

from __future__ import annotations

from typing import Any


def number_fr(value: Any, decimals: int | None = None) -> str:
    """``value`` as French writes it; ``decimals`` fixed, or ``None``: whole numbers whole, others to 6
    significant digits. A value that is not a number is returned as it is."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if decimals is not None:
        text = f"{number:,.{decimals}f}"
    elif number.is_integer() and abs(number) < 1e15:
        text = f"{int(number):,}"
    else:
        text = f"{number:,.6g}"
    return text.replace(",", "\u202f").replace(".", ",")


def count_fr(n: Any, one: str, many: str) -> str:
    """``n`` with its noun (``one`` for 0 and 1, ``many`` from 2 on, as French does)."""
    try:
        several = abs(float(n)) >= 2
    except (TypeError, ValueError):
        return f"{n} {many}"
    return f"{number_fr(n)} {many if several else one}"
