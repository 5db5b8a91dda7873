"""Sign-in throttling: how many password guesses a name, or a client address, gets.

THE RULE: every sign-in attempt counts as a failure for its account name (as typed, lower case,
whether or not the user exists) and for its client address, from the moment it starts — so a
burst of parallel guesses is counted before any of them is answered — and a success takes that
count back (the name's record is cleared, the address's count goes down by one). The first
``free_failures`` failures of a key cost nothing; after that each further attempt must wait
``base_delay * 2 ** (failures - free_failures)`` seconds after the last failure (1 s, 2 s, 4 s,
...), up to ``max_delay`` (15 minutes). An attempt made too early is refused with the wait left
(the review app answers 429 with ``Retry-After``) *before* any password hash is computed, and is
not counted. A key's record is forgotten ``forget_after`` seconds (a day) after its last failure.

With the defaults (5 failures per name, 20 per address) a guesser gets about a hundred tries a day
per name. Locking a name is also what an attacker can do to a reviewer; the lock is a back-off,
never permanent, and other names and addresses are unaffected. The address is the TCP peer: behind
a reverse proxy every client shares the proxy's address, so its limit applies to all together.
Records live in memory (a restart forgets them) and are bounded by ``max_entries`` (oldest go).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Failures:
    count: int
    last: float


class SigninThrottle:
    """Counts sign-in failures per account name and per client address and says how long to wait."""

    def __init__(
        self,
        *,
        free_failures_per_account: int = 5,
        free_failures_per_address: int = 20,
        base_delay: float = 1.0,
        max_delay: float = 900.0,
        forget_after: float = 86400.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if min(free_failures_per_account, free_failures_per_address, max_entries) < 1 or base_delay <= 0:
            raise ValueError("Throttle limits must be positive: free failures, base delay and max entries.")
        self._free = {"account": free_failures_per_account, "address": free_failures_per_address}
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._forget_after = forget_after
        self._max_entries = max_entries
        # Looked up at each call (not bound here), so a test can stop this module's clock
        # under a running server: a back-off of 1 s must not expire while a loaded machine
        # sends the next attempt.
        self._clock = clock if clock is not None else _monotonic
        self._records: OrderedDict[tuple[str, str], _Failures] = OrderedDict()
        self._guard = threading.Lock()

    def wait_seconds(self, account: str, address: str) -> float:
        """Seconds before an attempt for these keys may start (0.0: now); counts nothing."""
        with self._guard:
            now = self._clock()
            return max(self._wait(key, now) for key in self._keys(account, address))

    def begin_attempt(self, account: str, address: str) -> float:
        """Start an attempt: 0.0 when it may go on (it is counted as a failure until
        :meth:`succeeded`), else the seconds to wait (nothing is counted)."""
        keys = self._keys(account, address)
        with self._guard:
            now = self._clock()
            wait = max(self._wait(key, now) for key in keys)
            if wait > 0:
                return wait
            for key in keys:
                record = self._records.pop(key, None) or _Failures(0, now)
                record.count += 1
                record.last = now
                self._records[key] = record  # most recent last, for eviction
            while len(self._records) > self._max_entries:
                self._records.popitem(last=False)
            return 0.0

    def succeeded(self, account: str, address: str) -> None:
        """The attempt begun for these keys had the right password: take its failure back."""
        account_key, address_key = self._keys(account, address)
        with self._guard:
            self._records.pop(account_key, None)
            record = self._records.get(address_key)
            if record is not None:
                record.count -= 1
                if record.count <= 0:
                    del self._records[address_key]

    def _keys(self, account: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("account", account.strip().lower()), ("address", address)

    def _wait(self, key: tuple[str, str], now: float) -> float:
        record = self._records.get(key)
        if record is None:
            return 0.0
        if now - record.last >= self._forget_after:
            del self._records[key]
            return 0.0
        extra = record.count - self._free[key[0]]
        if extra < 0:
            return 0.0
        delay = min(self._max_delay, self._base_delay * 2 ** min(extra, 40))
        return max(0.0, record.last + delay - now)


def _monotonic() -> float:
    return time.monotonic()
