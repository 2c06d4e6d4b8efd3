"""What the use cases refuse: an unknown id, a batch too large, a request past its time budget."""

from __future__ import annotations

from embeddings import EncoderBusy

_KIND_FR = {"need": "besoin", "buyer": "acheteur", "supplier": "fournisseur"}


class NotFoundError(LookupError):
    """An unknown need, buyer or supplier id."""

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{_KIND_FR.get(kind, kind)} {ident!r} introuvable")
        self.kind = kind
        self.ident = ident


class Overloaded(EncoderBusy):
    """The request's time budget ran out while it was being ranked (``EncoderBusy``, its base, is the
    encoder's own refusal). ``retry_after``: seconds after which a retry is sensible."""


class BatchTooLarge(ValueError):
    """A batch of queries whose texts hold more tokens than ``Settings.max_batch_tokens``."""
