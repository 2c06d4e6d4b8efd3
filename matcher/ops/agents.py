"""Public agents signed in with OpenID Connect (ProConnect): which organisation and role each gets.

ProConnect says who the agent is (``sub``, names, e-mail), where they work (``siret``, the
establishment's 14 digits, and ``organization_label``) and whether they are a public agent
(``roles``: ``agent_public``, ``agent_public_etat``, ``agent_public_territorial``). It does not know
the service's buyer organisations: staff keep a table from SIRET to a buyer organisation and a
role (``AgentDirectory``). A signed-in user gets a principal only when they are a public agent of
a SIRET in that table; anyone else gets a refusal that says why, in French, and no account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from matcher.data.catalogue import Catalogue
from matcher.data.fields import RecordError, canonical_id, clean_text
from matcher.data.tables import agent_organisations_table, now
from matcher.ops.access import ROLES, Principal

#: the ``roles`` claim values that make a user a public agent
PUBLIC_AGENT_ROLES = frozenset({"agent_public", "agent_public_etat", "agent_public_territorial"})
_SIRET = re.compile(r"\d{14}")


class SignInRefused(Exception):
    """A signed-in user who gets no account here; the message is the French reason shown to them."""


@dataclass(frozen=True)
class AgentOrganisation:
    """One row of the table staff keep: a SIRET, the buyer organisation and role its agents get."""

    siret: str
    role: str
    buyer_id: str | None
    label: str
    updated_at: str
    updated_by: str


def _siret(value: Any) -> str:
    siret = re.sub(r"\s", "", str(value or ""))
    if not _SIRET.fullmatch(siret):
        raise ValueError(f"siret : « {value} » n'est pas un SIRET (14 chiffres)")
    return siret


class AgentDirectory:
    """The SIRET → (buyer organisation, role) table, in the catalogue database, every change audited."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def set(self, siret: str, role: str, buyer_id: str | None, label: str, actor: str) -> AgentOrganisation:
        """Record (or replace) what the agents of ``siret`` get; ``ValueError`` naming the field otherwise."""
        siret = _siret(siret)
        if role not in ROLES:
            raise ValueError(f"role : « {role} » n'est pas l'un des rôles {', '.join(ROLES)}")
        if role == "buyer":
            if not (buyer_id or "").strip():
                raise ValueError("buyer_id : les agents acheteurs sont rattachés à une organisation acheteuse, à donner")
            try:
                buyer_id = canonical_id(buyer_id, "buyer_id")
            except RecordError as exc:
                raise ValueError(str(exc)) from None
        elif buyer_id:
            raise ValueError(f"buyer_id : le rôle « {role} » n'est rattaché à aucune organisation acheteuse")
        label = clean_text(label)[:300]
        values = {"role": role, "buyer_id": buyer_id or None, "label": label, "updated_at": now(), "updated_by": actor}
        table = agent_organisations_table
        with self.catalogue.transaction() as tx:
            found = tx.conn.execute(sa.select(table.c.siret).where(table.c.siret == siret)).first()
            if found:
                tx.conn.execute(table.update().where(table.c.siret == siret).values(**values))
            else:
                tx.conn.execute(table.insert().values(siret=siret, **values))
            tx.audit(actor, "agents.set", siret, {"role": role, "buyer_id": buyer_id or None})
        return self.get(siret)  # type: ignore[return-value]

    def remove(self, siret: str, actor: str) -> bool:
        """Forget a SIRET (its agents can no longer sign in); ``False`` when it was not in the table."""
        siret = _siret(siret)
        table = agent_organisations_table
        with self.catalogue.transaction() as tx:
            removed = tx.conn.execute(table.delete().where(table.c.siret == siret)).rowcount
            if removed:
                tx.audit(actor, "agents.remove", siret)
        return bool(removed)

    def get(self, siret: str) -> AgentOrganisation | None:
        table = agent_organisations_table
        with self.catalogue.engine.connect() as conn:
            row = conn.execute(sa.select(table).where(table.c.siret == siret)).first()
        return _organisation(row) if row else None

    def list(self) -> list[AgentOrganisation]:
        table = agent_organisations_table
        with self.catalogue.engine.connect() as conn:
            return [_organisation(r) for r in conn.execute(sa.select(table).order_by(table.c.siret))]

    def principal(self, claims: dict[str, Any]) -> Principal:
        """The principal of a signed-in user's claims; ``SignInRefused`` with the French reason otherwise."""
        roles = claims.get("roles") or []
        if isinstance(roles, str):
            roles = roles.split()
        if not PUBLIC_AGENT_ROLES.intersection(roles):
            raise SignInRefused("Ce service est réservé aux agents publics : votre compte ProConnect ne porte pas de rôle d'agent public.")
        try:
            siret = _siret(claims.get("siret"))
        except ValueError:
            raise SignInRefused("Votre compte ProConnect ne donne pas le SIRET de votre établissement.") from None
        organisation = self.get(siret)
        if organisation is None:
            where = clean_text(claims.get("organization_label")) or f"SIRET {siret}"
            raise SignInRefused(
                f"Votre organisation ({where}) n'est pas encore inscrite au service. L'équipe de la mission French Tech "
                "peut l'ajouter : écrivez-lui en donnant ce SIRET."
            )
        name = " ".join(clean_text(claims.get(k)) for k in ("given_name", "usual_name")).strip() or clean_text(claims.get("email"))
        sub = clean_text(claims.get("sub"))
        return Principal(key_id=f"oidc:{sub[:40]}", name=name or sub, role=organisation.role, buyer_id=organisation.buyer_id)


def _organisation(row: Any) -> AgentOrganisation:
    return AgentOrganisation(row.siret, row.role, row.buyer_id, row.label, row.updated_at.isoformat(timespec="seconds"), row.updated_by)
