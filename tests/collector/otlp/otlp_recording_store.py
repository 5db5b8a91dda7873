"""A stand-in store for receiver tests where only what reached the store matters."""

from __future__ import annotations

import threading
from typing import Any

from otel_feedback_collector.storage import StoreBusy


class RecordingStore:
    """Stands in for SpanStore where only what reached the store matters; can be made busy or slow."""

    def __init__(self) -> None:
        self.traces: list[Any] = []
        self.logs: list[Any] = []
        self.serialized: list[bytes | None] = []
        self.busy_retry_after: float | None = None
        # When set, writes wait for this event (``entered`` tells a write is waiting).
        self.gate: threading.Event | None = None
        self.entered = threading.Event()
        # When set, writes raise it (a store fault such as a full disk).
        self.failure: Exception | None = None
        self._lock = threading.Lock()

    def write_traces(self, request: Any, *, serialized: bytes | None = None) -> int:
        """Record a copy of the request, or raise StoreBusy when made busy; ``serialized``
        (the body as received, when nothing was removed) is kept in ``serialized``."""
        self.serialized.append(serialized)
        return self._record(self.traces, request, sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans))

    def write_logs(self, request: Any) -> int:
        """Record a copy of the request, or raise StoreBusy when made busy."""
        return self._record(
            self.logs, request, sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs)
        )

    def _record(self, into: list[Any], request: Any, count: int) -> int:
        if self.gate is not None:
            self.entered.set()
            self.gate.wait(30)
        if self.failure is not None:
            raise self.failure
        if self.busy_retry_after is not None:
            raise StoreBusy("the recording store was made busy", retry_after=self.busy_retry_after)
        copy = type(request)()
        copy.CopyFrom(request)
        with self._lock:
            into.append(copy)
        return count

    def spans(self) -> list[Any]:
        """Every span recorded so far, in arrival order."""
        return [span for req in self.traces for r in req.resource_spans for s in r.scope_spans for span in s.spans]

    def flush(self) -> None:
        """Nothing to flush."""

    def close(self) -> None:
        """Nothing to close."""
