"""Procurement awareness: what the *Code de la commande publique* allows for a need's amount."""

from __future__ import annotations

from matcher.data.french import number_fr

#: article allowing innovative purchases under the threshold without advertising or competition
INNOVATIVE_PURCHASE_ARTICLE = "article R2122-9-1 du Code de la commande publique"


def _euros(amount: float) -> str:
    return number_fr(amount, 0) + " € HT"


def procurement_notice(amount: float | None, threshold: float) -> dict | None:
    """A notice for buyers when a need's estimated amount is known (``None`` otherwise).

    Under ``threshold`` (100 000 € HT by default), an innovative purchase may be awarded
    without advertising or competition: the notice says so, in French.
    """
    if amount is None or amount <= 0:
        return None
    direct = amount < threshold
    if direct:
        message = (
            f"Montant estimé {_euros(amount)}, sous le seuil de {_euros(threshold)} des achats innovants : "
            f"un marché sans publicité ni mise en concurrence préalables est possible ({INNOVATIVE_PURCHASE_ARTICLE})."
        )
    else:
        message = f"Montant estimé {_euros(amount)}, au-dessus du seuil de {_euros(threshold)} des achats innovants : procédure avec publicité et mise en concurrence."
    return {"amount": amount, "threshold": threshold, "direct_award_possible": direct, "message": message}
