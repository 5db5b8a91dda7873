"""Reading an HTTP ``Retry-After`` header (the collector's 429/503, an LLM API's rate limit)."""

from __future__ import annotations

import math


def parse_retry_after(value: str | None, *, limit: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or None when absent or not a number.

    Only delta-seconds are read (HTTP dates are rare for APIs). The result is never negative and,
    with ``limit``, never above it.
    """
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if math.isnan(seconds):
        return None
    seconds = max(seconds, 0.0)
    return min(seconds, limit) if limit is not None else seconds
