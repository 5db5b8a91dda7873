"""HTTP connections that cannot take the port down: a header deadline and idle-first eviction.

uvicorn's h11 protocol waits for a request's headers forever and counts every open connection
against ``limit_concurrency``; 1,100 sockets that connect and send nothing made ``/healthz`` and
``/v1/traces`` answer 503 to everyone until they went away. :func:`guarded_protocol` returns
an :class:`~uvicorn.protocols.http.h11_impl.H11Protocol` subclass with two rules:

- **Header deadline.** A connection waiting for a request's headers (just opened, or after its
  previous answer) is closed when they are not complete within ``header_timeout`` seconds.
- **Idle first out.** When ``max_connections`` are open and another arrives, the connection that
  has waited longest for headers is closed to make room. Connections with a request in progress
  are never closed this way, so idle sockets cannot starve real requests; only when every
  connection is busy does uvicorn answer 503 (``limit_concurrency`` is set just above the cap).

Keep-alive connections between requests are closed by uvicorn after ``timeout_keep_alive``.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

_logger = logging.getLogger(__name__)

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_MAX_CONNECTIONS = 1024


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline and idle-first eviction (see the module)."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._header_timer: asyncio.TimerHandle | None = None
        # loop.time() when this connection began waiting for a request's headers; None while a
        # request is in progress. The oldest waiter is the one evicted.
        self.waiting_since: float | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Make room by closing the longest-idle connection if at the cap, then start the deadline."""
        if len(self.connections) >= self.max_connections:
            self._evict_longest_waiting()
        super().connection_made(transport)
        self._follow_request_state()

    def data_received(self, data: bytes) -> None:
        """Feed h11, then stop the deadline once a request's headers are complete."""
        super().data_received(data)
        self._follow_request_state()

    def on_response_complete(self) -> None:
        """After an answer the connection waits for the next request's headers: restart the deadline."""
        super().on_response_complete()
        self._follow_request_state()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the deadline with the connection."""
        self._stop_deadline()
        super().connection_lost(exc)

    def _follow_request_state(self) -> None:
        waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
        if waiting and self._header_timer is None:
            self.waiting_since = self.loop.time()
            self._header_timer = self.loop.call_later(self.header_timeout, self._header_deadline_passed)
        elif not waiting:
            self._stop_deadline()

    def _stop_deadline(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        self.waiting_since = None

    def _header_deadline_passed(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE:
            _logger.debug("Closing %s: no complete request headers within %g s.", self.client, self.header_timeout)
            self._close_idle()

    def _close_idle(self) -> None:
        self.waiting_since = None
        # Out of the count at once: the new connection's request must not see it (uvicorn's
        # limit_concurrency check) in the moment before connection_lost runs.
        self.connections.discard(self)
        self.transport.close()

    def _evict_longest_waiting(self) -> None:
        waiting = [
            connection
            for connection in self.connections
            if isinstance(connection, GuardedH11Protocol) and connection.waiting_since is not None
        ]
        if not waiting:
            return  # every connection is busy: uvicorn answers 503 past limit_concurrency
        victim = min(waiting, key=lambda connection: connection.waiting_since or 0.0)
        _logger.debug("At %d connections: closing %s, idle the longest.", self.max_connections, victim.client)
        victim._stop_deadline()
        victim._close_idle()


def guarded_protocol(*, header_timeout: float, max_connections: int) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` subclass with these limits, for ``uvicorn.Config(http=...)``."""
    if header_timeout <= 0:
        raise ValueError("header_timeout must be a positive number of seconds.")
    if max_connections < 1:
        raise ValueError("max_connections must be at least 1.")
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {"header_timeout": float(header_timeout), "max_connections": int(max_connections)},
    )


def raise_fd_limit(max_connections: int, *, spare: int = 256) -> int:
    """Raise this process's open-file limit so ``max_connections`` sockets fit; returns the limit.

    Past the limit ``accept`` fails and asyncio stops accepting for a second at a time, which
    would let idle sockets lock everyone out again; ``spare`` leaves room for the store's files
    and gRPC. Logs a warning when the hard limit is too low to fit them.
    """
    wanted = max_connections + spare
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
        soft = new_soft
    if soft != resource.RLIM_INFINITY and soft < wanted:
        _logger.warning(
            "The open-file limit (%d) is below --max-connections plus %d spare; lower --max-connections "
            "or raise the limit (ulimit -n).",
            soft,
            spare,
        )
    return soft
