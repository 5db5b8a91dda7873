"""One memory budget for export bodies in progress, shared by OTLP/HTTP and OTLP/gRPC.

``--max-pending-bytes`` bounds acknowledged data waiting for its Parquet flush, but not what
requests hold before that: 64 senders of 11 MB exports took the collector to 2 GB while every
one of them was answered 429/503 (32 bodies per transport read at once, each also inflated,
decoded into messages and serialized again for the log). :class:`InflightBudget` counts those
bytes and refuses the export that would pass the limit with 503 / UNAVAILABLE and a retry delay,
before it reads, inflates or decodes more.

What a request is charged: its wire bytes as they are read, its inflated bytes as they are
produced, and before decoding ``DECODE_FACTOR[encoding]`` times its inflated size, an estimate
(measured on GenAI spans) of the decoded message plus the copy the store serializes. A request
alone is always admitted, so a body larger than the budget is still served when nothing else is.
"""

from __future__ import annotations

import threading
from types import TracebackType

from otel_feedback_collector.otlp.encoding import MessageEncoding
from otel_feedback_collector.otlp.errors import Backpressure

DEFAULT_MAX_INFLIGHT_BYTES = 128 * 1024 * 1024
# Memory per inflated byte from decoding to the store's write, measured on exports of 11 MB of
# GenAI spans: the parsed message, the serialized copy for the log and the joined body come to
# about 4x for protobuf; json.loads objects peak at about 3x the text before the message exists.
DECODE_FACTOR: dict[MessageEncoding, int] = {MessageEncoding.PROTOBUF: 4, MessageEncoding.JSON: 6}


class InflightBudget:
    """Bytes held by exports in progress, with a limit; thread-safe.

    ``high_water`` is the most ever held at once (for tests and diagnostics).
    """

    def __init__(self, limit: int = DEFAULT_MAX_INFLIGHT_BYTES, *, retry_after: float = 1.0) -> None:
        if limit < 1:
            raise ValueError("The in-flight byte limit must be a positive number of bytes.")
        self.limit = limit
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._in_use = 0
        self._high_water = 0
        self.refused = 0

    @property
    def in_use(self) -> int:
        """Bytes held right now."""
        return self._in_use

    @property
    def high_water(self) -> int:
        """The most bytes ever held at once."""
        return self._high_water

    def claim(self) -> BodyClaim:
        """A claim for one request; use it as a context manager so its bytes are given back."""
        return BodyClaim(self)

    def _take(self, claim: BodyClaim, nbytes: int) -> bool:
        with self._lock:
            alone = self._in_use == claim.held
            if not alone and self._in_use + nbytes > self.limit:
                self.refused += 1
                return False
            self._in_use += nbytes
            self._high_water = max(self._high_water, self._in_use)
            claim.held += nbytes
            return True

    def _give_back(self, claim: BodyClaim) -> None:
        with self._lock:
            self._in_use -= claim.held
            claim.held = 0


class BodyClaim:
    """The bytes one export holds against an :class:`InflightBudget`."""

    def __init__(self, budget: InflightBudget) -> None:
        self._budget = budget
        self.held = 0

    def charge(self, nbytes: int) -> None:
        """Hold ``nbytes`` more, or raise :class:`Backpressure` (503 / UNAVAILABLE) when over budget."""
        if nbytes <= 0:
            return
        if not self._budget._take(self, nbytes):
            raise Backpressure(
                f"The collector is holding {self._budget.in_use} bytes of exports in progress (limit "
                f"{self._budget.limit}, --max-inflight-bytes); retry shortly.",
                retry_after=self._budget.retry_after,
                overloaded=True,
            )

    def charge_decoding(self, raw_bytes: int, encoding: MessageEncoding) -> None:
        """Hold the estimated memory of decoding ``raw_bytes`` of ``encoding``."""
        self.charge(raw_bytes * DECODE_FACTOR[encoding])

    def release(self) -> None:
        """Give every byte back."""
        self._budget._give_back(self)

    def __enter__(self) -> BodyClaim:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
