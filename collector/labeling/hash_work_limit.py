"""A bound on password hashes computed at once for sign-in attempts.

Why: one scrypt hash holds 16 MiB while it runs (:mod:`otel_feedback_collector.catalog.users`), and sign-in is
open to anyone who can reach the port, so a flood of sign-ins with a thread pool of 40 took
hundreds of MB. At most ``max_concurrent`` hashes run; an attempt waits up to ``wait_seconds``
for a turn (waiting costs no hash memory) and is otherwise refused, which the review app answers
with 503 and ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class HashWorkLimit:
    """At most ``max_concurrent`` password hashes at once (for the event loop that uses it)."""

    def __init__(self, *, max_concurrent: int = 2, wait_seconds: float = 5.0) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1.")
        self.max_concurrent = max_concurrent
        self._wait_seconds = wait_seconds
        self._semaphore: asyncio.Semaphore | None = None

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[bool]:
        """Yields True while holding a turn, False when none came free within the wait."""
        if self._semaphore is None:  # made here so that it belongs to the server's event loop
            self._semaphore = asyncio.Semaphore(self.max_concurrent)
        try:
            await asyncio.wait_for(self._semaphore.acquire(), self._wait_seconds)
        except asyncio.TimeoutError:
            yield False
            return
        try:
            yield True
        finally:
            self._semaphore.release()
