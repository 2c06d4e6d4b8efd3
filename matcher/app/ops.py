"""Keeping the service safe: API keys and their roles, the agents' organisations (sign-in with
ProConnect), backup and restore of what it stores."""

from __future__ import annotations

from matcher.app.catalogue import open_catalogue
from matcher.data.catalogue import Catalogue
from matcher.ops.access import ROLES, KeyInfo, KeyStore, Principal
from matcher.ops.agents import AgentDirectory, AgentOrganisation, SignInRefused
from matcher.ops.backup import BackupError, backup, restore
from matcher.settings import Settings

__all__ = [
    "ROLES",
    "AgentDirectory",
    "AgentOrganisation",
    "BackupError",
    "KeyInfo",
    "KeyStore",
    "Principal",
    "SignInRefused",
    "backup",
    "key_store",
    "restore",
]


def key_store(settings: Settings, catalogue: Catalogue | None = None) -> KeyStore:
    """The API keys of the configured catalogue, hashed with the configured secret."""
    return KeyStore(catalogue or open_catalogue(settings), settings.key_secret())
