"""Public agents signed in with OpenID Connect (ProConnect): which organisation and role each gets.

ProConnect says who the agent is (``sub``, names, e-mail), where they work (``siret``, the
establishment's 14 digits, and ``organization_label``) and whether they are a public agent
(``roles``: ``agent_public``, ``agent_public_etat``, ``agent_public_territorial``). It does not know
the service's buyer organisations: staff keep a table from SIRET to a buyer organisation and a
role (``AgentDirectory``). A signed-in user gets a principal only when they are a public agent of
a SIRET in that table; anyone else gets a refusal that says why, in French, and no account. A session
holds who signed in and their SIRET, not their role: each request reads the SIRET's row again
(``session_principal``, cached ``VERIFIED_TTL_SECONDS`` like API keys), so that a change or a
removal by staff reaches sessions already open.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from matcher.data.catalogue import Catalogue
from matcher.data.fields import RecordError, canonical_id, clean_text
from matcher.data.tables import agent_organisations_table, now
from matcher.ops.access import ROLES, VERIFIED_TTL_SECONDS, Principal

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
        self._read: dict[str, tuple[AgentOrganisation | None, float]] = {}  # siret → (row, expiry)
        self._lock = threading.Lock()

    def _forget(self, siret: str) -> None:
        with self._lock:
            self._read.pop(siret, None)

    def current(self, siret: str) -> AgentOrganisation | None:
        """``get``, trusted ``VERIFIED_TTL_SECONDS`` (a change through this directory takes effect at once;
        through another process, within that delay)."""
        now_ = time.monotonic()
        with self._lock:
            cached = self._read.get(siret)
        if cached is not None and cached[1] > now_:
            return cached[0]
        organisation = self.get(siret)
        with self._lock:
            if len(self._read) > 10_000:
                self._read.clear()
            self._read[siret] = (organisation, now_ + VERIFIED_TTL_SECONDS)
        return organisation

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
        self._forget(siret)
        return self.get(siret)  # type: ignore[return-value]

    def remove(self, siret: str, actor: str) -> bool:
        """Forget a SIRET (its agents can no longer sign in); ``False`` when it was not in the table."""
        siret = _siret(siret)
        table = agent_organisations_table
        with self.catalogue.transaction() as tx:
            removed = tx.conn.execute(table.delete().where(table.c.siret == siret)).rowcount
            if removed:
                tx.audit(actor, "agents.remove", siret)
        self._forget(siret)
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

    def sign_in(self, claims: dict[str, Any]) -> dict[str, str]:
        """What a session keeps of a signed-in user's claims (``sub``, ``name``, ``siret``);
        ``SignInRefused`` with the French reason when they get no account."""
        roles = claims.get("roles") or []
        if isinstance(roles, str):
            roles = roles.split()
        if not PUBLIC_AGENT_ROLES.intersection(roles):
            raise SignInRefused("Ce service est réservé aux agents publics : votre compte ProConnect ne porte pas de rôle d'agent public.")
        try:
            siret = _siret(claims.get("siret"))
        except ValueError:
            raise SignInRefused("Votre compte ProConnect ne donne pas le SIRET de votre établissement.") from None
        if self.current(siret) is None:
            where = clean_text(claims.get("organization_label")) or f"SIRET {siret}"
            raise SignInRefused(
                f"Votre organisation ({where}) n'est pas encore inscrite au service. L'équipe de la mission French Tech "
                "peut l'ajouter : écrivez-lui en donnant ce SIRET."
            )
        sub = clean_text(claims.get("sub"))
        name = " ".join(clean_text(claims.get(k)) for k in ("given_name", "usual_name")).strip() or clean_text(claims.get("email"))
        return {"sub": sub, "name": name or sub, "siret": siret}

    def session_principal(self, agent: dict[str, str]) -> Principal | None:
        """The principal of a session kept by ``sign_in``, with its SIRET's role and organisation as
        they are now; ``None`` once staff removed the SIRET."""
        organisation = self.current(agent["siret"])
        if organisation is None:
            return None
        return Principal(key_id=f"oidc:{agent['sub'][:40]}", name=agent["name"], role=organisation.role, buyer_id=organisation.buyer_id)


def _organisation(row: Any) -> AgentOrganisation:
    return AgentOrganisation(row.siret, row.role, row.buyer_id, row.label, row.updated_at.isoformat(timespec="seconds"), row.updated_by)
