"""Operations — who may do what, and keeping the data safe.

``access`` (API keys with roles, stored hashed; the ``Principal`` behind a request), ``backup``
(one archive of the catalogue, MLflow store, live indexes and vector cache; a checked restore).
"""

from matcher.ops.access import KeyStore, Principal
from matcher.ops.backup import BackupError, backup, restore

__all__ = ["BackupError", "KeyStore", "Principal", "backup", "restore"]
