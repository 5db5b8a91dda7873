"""Errors the local model server can be told to produce, to exercise an app's error paths."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from enum import Enum

__all__ = ["Fault", "FaultKind", "FaultQueue"]


class FaultKind(str, Enum):
    """How a fault shows itself to the client."""

    HTTP_ERROR = "http_error"
    """The request is answered with an error status and an OpenAI-style error body."""
    STREAM_ERROR_EVENT = "stream_error_event"
    """A streamed answer sends some chunks, then an error event, then ends."""
    STREAM_DISCONNECT = "stream_disconnect"
    """A streamed answer sends some chunks, then the connection drops mid-body."""


@dataclass(frozen=True)
class Fault:
    """One injected error. Build it with ``rate_limit``, ``server_error`` or ``broken_stream``.

    ``endpoint`` limits it to one endpoint (``"chat.completions"``, ``"completions"``,
    ``"responses"``, ``"embeddings"``); ``None`` means the next request of any kind. Stream
    faults only apply to streaming requests.
    """

    kind: FaultKind
    status: int = 500
    message: str = "The local model server was told to fail this request."
    retry_after: float | None = None
    after_chunks: int = 0
    endpoint: str | None = None

    @classmethod
    def rate_limit(cls, *, retry_after: float = 1.0, endpoint: str | None = None) -> Fault:
        """A 429 with a ``Retry-After`` header (seconds), as OpenAI sends when rate limited."""
        return cls(
            FaultKind.HTTP_ERROR,
            status=429,
            message="Rate limit reached (injected by the local model server).",
            retry_after=retry_after,
            endpoint=endpoint,
        )

    @classmethod
    def server_error(cls, *, status: int = 500, endpoint: str | None = None) -> Fault:
        """An internal server error (or any other ``status``) with an OpenAI-style error body."""
        return cls(FaultKind.HTTP_ERROR, status=status, endpoint=endpoint)

    @classmethod
    def broken_stream(cls, *, after_chunks: int = 2, disconnect: bool = False, endpoint: str | None = None) -> Fault:
        """A stream that fails after ``after_chunks`` chunks: an error event, or a dropped connection."""
        if after_chunks < 0:
            raise ValueError(f"after_chunks must be zero or more; got {after_chunks}")
        kind = FaultKind.STREAM_DISCONNECT if disconnect else FaultKind.STREAM_ERROR_EVENT
        return cls(kind, message="The stream broke midway (injected by the local model server).",
                   after_chunks=after_chunks, endpoint=endpoint)

    def applies_to(self, endpoint: str, *, streaming: bool) -> bool:
        """Whether this fault should fire for a request to ``endpoint``."""
        if self.endpoint is not None and self.endpoint != endpoint:
            return False
        return self.kind is FaultKind.HTTP_ERROR or streaming


class FaultQueue:
    """Faults waiting to fire, first in first out; each fires once. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()

    def add(self, fault: Fault, *, times: int = 1) -> None:
        """Queue ``fault`` to fire on the next ``times`` matching requests."""
        if times < 1:
            raise ValueError(f"times must be 1 or more; got {times}")
        with self._lock:
            self._faults.extend([fault] * times)

    def take(self, endpoint: str, *, streaming: bool) -> Fault | None:
        """Remove and return the first queued fault that applies to this request, if any."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.applies_to(endpoint, streaming=streaming):
                    del self._faults[index]
                    return fault
        return None

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)
