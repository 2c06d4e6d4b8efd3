"""API keys with roles: who may read and write what.

Three roles: ``buyer`` (bound to one buyer organisation: its needs, shortlists and feedback,
and matching), ``staff`` (every ministry, exports, needs management) and ``admin`` (what staff
may do, plus imports, re-indexing, model promotion and keys). A key is shown once, at
creation, as ``mk_<key_id>_<secret>``; only an HMAC-SHA256 of it (keyed by the service's
secret) is stored, so a stolen database does not yield usable keys. Keys are random 256-bit
tokens, hence a fast keyed hash rather than a password hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa

from matcher.data.catalogue import Catalogue
from matcher.data.fields import RecordError, canonical_id, clean_text, unicode_problem
from matcher.data.tables import api_keys_table, now

ROLES = ("buyer", "staff", "admin")
TOKEN_PREFIX = "mk_"


@dataclass(frozen=True)
class Principal:
    """The holder of a valid key: what the service attributes writes to."""

    key_id: str
    name: str
    role: str
    buyer_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in ("staff", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_access_buyer(self, buyer_id: str) -> bool:
        """Staff see every organisation; a buyer key only its own."""
        return self.is_staff or (self.role == "buyer" and buyer_id == self.buyer_id)

    @property
    def label(self) -> str:
        """How writes are attributed: ``name (role:key_id)``."""
        return f"{self.name} ({self.role}:{self.key_id})"


@dataclass
class KeyInfo:
    key_id: str
    name: str
    role: str
    buyer_id: str | None
    created_at: str
    created_by: str
    revoked: bool


#: how long a verified key is trusted without asking the database again (a revocation through
#: this process takes effect at once; through another process, within this delay)
VERIFIED_TTL_SECONDS = 30.0


class KeyStore:
    """API keys in the catalogue database, hashed with the service secret."""

    def __init__(self, catalogue: Catalogue, secret: str) -> None:
        if not secret:
            raise ValueError("secret: an empty secret cannot protect API keys")
        self.catalogue = catalogue
        self._secret = secret.encode()
        self._verified: dict[str, tuple[Principal, float]] = {}  # key hash → (principal, expiry)
        self._lock = threading.Lock()

    def _hash(self, token: str) -> str:
        return hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()

    def create(self, name: str, role: str, buyer_id: str | None = None, created_by: str = "cli") -> tuple[str, str]:
        """A new key: ``(key_id, token)``; the token is not stored and cannot be shown again.

        Stored with its audit entry (``created_by`` is the actor) in one transaction.
        """
        if role not in ROLES:
            raise ValueError(f"role : « {role} » n'est pas l'un des rôles {', '.join(ROLES)}")
        if role == "buyer" and not (buyer_id or "").strip():
            raise ValueError("buyer_id : une clé d'acheteur est liée à une organisation acheteuse, à donner")
        if role != "buyer" and buyer_id:
            raise ValueError(f"buyer_id : une clé « {role} » n'est liée à aucune organisation")
        if buyer_id:
            try:
                buyer_id = canonical_id(buyer_id, "buyer_id")
            except RecordError as exc:
                raise ValueError(str(exc)) from None
        problem = unicode_problem(name)
        if problem:
            raise ValueError(f"name : {problem}")
        name = clean_text(name)
        if not name or len(name) > 200:
            raise ValueError("name : de 1 à 200 caractères (qui détient la clé)")
        key_id = secrets.token_hex(6)
        token = f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        with self.catalogue.transaction() as tx:
            tx.conn.execute(
                api_keys_table.insert().values(
                    key_id=key_id,
                    name=name,
                    role=role,
                    buyer_id=buyer_id or None,
                    key_hash=self._hash(token),
                    created_at=now(),
                    created_by=created_by,
                )
            )
            tx.audit(created_by, "key.create", key_id, {"role": role, "buyer_id": buyer_id or None})
        return key_id, token

    def verify(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked key; ``None`` otherwise (constant-time comparison)."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = self._hash(token)
        now = time.monotonic()
        with self._lock:
            cached = self._verified.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        key_id = token[len(TOKEN_PREFIX) :].split("_", 1)[0]
        with self.catalogue.engine.connect() as conn:
            row = conn.execute(sa.select(api_keys_table).where(api_keys_table.c.key_id == key_id)).first()
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest):
            return None
        principal = Principal(row.key_id, row.name, row.role, row.buyer_id)
        with self._lock:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[digest] = (principal, now + VERIFIED_TTL_SECONDS)
        return principal

    def revoke(self, key_id: str, actor: str | None = None) -> bool:
        """Revoke a key (with an audit entry by ``actor`` when given, same transaction); ``False`` when there is no such active key."""
        with self.catalogue.transaction() as tx:
            result = tx.conn.execute(
                api_keys_table.update()
                .where((api_keys_table.c.key_id == key_id) & api_keys_table.c.revoked_at.is_(None))
                .values(revoked_at=now())
            )
            if result.rowcount and actor is not None:
                tx.audit(actor, "key.revoke", key_id)
        with self._lock:
            self._verified = {h: (p, t) for h, (p, t) in self._verified.items() if p.key_id != key_id}
        return bool(result.rowcount)

    def list(self) -> list[KeyInfo]:
        with self.catalogue.engine.connect() as conn:
            rows = conn.execute(sa.select(api_keys_table).order_by(api_keys_table.c.created_at)).all()
        return [
            KeyInfo(
                r.key_id, r.name, r.role, r.buyer_id, r.created_at.isoformat(timespec="seconds"), r.created_by, r.revoked_at is not None
            )
            for r in rows
        ]
