"""A per-key rate limit (the ``limits`` library, moving window, in this process's memory).

``Settings.rate_limit`` is a ``limits`` string (``"300/minute"``, ``"20/second"``) or ``"none"``.
Over it, a request is answered 429 with ``Retry-After`` (seconds until the window frees a slot)
before its body is read. Each replica counts its own requests.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class RateLimit:
    """How many requests each key may send per window."""

    def __init__(self, spec: str) -> None:
        self.item: RateLimitItem | None = None if spec.strip().lower() in ("", "none", "0", "off") else parse(spec)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def allow(self, key_id: str) -> float | None:
        """``None`` if ``key_id`` may send this request (it is counted); else the seconds to wait."""
        if self.item is None or self._limiter.hit(self.item, key_id):
            return None
        reset_at, _ = self._limiter.get_window_stats(self.item, key_id)
        return max(1.0, math.ceil(reset_at - time.time()))


def parse_rate_limit(spec: str) -> None:
    """``ValueError`` naming the setting when ``spec`` is not a rate the limiter understands."""
    try:
        RateLimit(spec)
    except ValueError as exc:
        raise ValueError(f"MATCHER_RATE_LIMIT: {spec!r} is not a rate such as '300/minute' or 'none' ({exc})") from None
