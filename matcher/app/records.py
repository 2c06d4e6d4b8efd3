"""Writing one record — a buyer's need, a supplier — each write with its audit entry in one transaction.

Ownership is checked by the write itself, on the stored row (``owner``: the organisation a buyer
key's write must stay within; ``None`` for staff). A record that cannot be stored leaves the
previous one in place.
"""

from __future__ import annotations

from matcher.data.catalogue import Catalogue
from matcher.data.schema import Need, Supplier


def create_need(catalogue: Catalogue, need: Need, actor: str) -> None:
    """Record a new need; ``NeedExists`` (naming its owner) when the id is taken — the primary key decides."""
    catalogue.create_need(need, audit=(actor, "need.create", need.need_id, {"buyer_id": need.buyer_id}))


def update_need(catalogue: Catalogue, need: Need, actor: str, owner: str | None) -> bool:
    """Replace a recorded need within ``owner``'s organisation; ``False`` when there is none to replace."""
    with catalogue.transaction() as tx:
        if not tx.update_need(need, owner=owner):
            return False
        tx.audit(actor, "need.update", need.need_id, {"buyer_id": need.buyer_id})
    return True


def delete_need(catalogue: Catalogue, need_id: str, actor: str, owner: str | None) -> bool:
    """Delete a recorded need within ``owner``'s organisation; ``False`` when there is none to delete."""
    with catalogue.transaction() as tx:
        if not tx.delete_need(need_id, owner=owner):
            return False
        tx.audit(actor, "need.delete", need_id)
    return True


def replace_supplier(catalogue: Catalogue, supplier: Supplier, actor: str) -> bool:
    """Add or replace one supplier (a PUT replaces, an import merges); ``True`` when it existed."""
    with catalogue.transaction() as tx:
        existed = tx.replace_supplier(supplier)
        tx.audit(actor, "supplier.replace" if existed else "supplier.create", supplier.supplier_id)
    return existed


def delete_supplier(catalogue: Catalogue, supplier_id: str, actor: str) -> bool:
    """Remove a supplier from the catalogue; ``False`` when it was not there."""
    with catalogue.transaction() as tx:
        if not tx.delete_supplier(supplier_id):
            return False
        tx.audit(actor, "supplier.delete", supplier_id)
    return True
