"""Forwarding a copy of every accepted export to another OTLP/HTTP endpoint.

The copy goes through a bounded queue to one background thread, so forwarding never delays or
fails our own acknowledgement: when the queue is full the copy is dropped and counted, and a dead
target is logged at most once per ``log_interval`` seconds instead of on every batch.
"""

from __future__ import annotations

import http.client
import logging
import queue
import threading
import time
import urllib.parse
from dataclasses import dataclass

from otel_feedback_collector.otlp.signals import Signal

_logger = logging.getLogger(__name__)
_STOP = object()


@dataclass
class ForwardStats:
    """Counters of what happened to forwarded copies."""

    sent: int = 0
    failed: int = 0
    dropped: int = 0


class Forwarder:
    """Posts copies of OTLP payloads to ``base_url`` + the signal path, from one worker thread.

    ``base_url`` is the other receiver's OTLP/HTTP base (``http://host:4318``); a URL that already
    ends in ``/v1/traces`` or ``/v1/logs`` has that suffix removed.
    """

    def __init__(
        self,
        base_url: str,
        *,
        max_queue: int = 256,
        timeout: float = 10.0,
        headers: dict[str, str] | None = None,
        log_interval: float = 30.0,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(
                f"--forward needs an http:// or https:// URL of an OTLP/HTTP receiver, got {base_url!r}."
            )
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1.")
        path = parsed.path.rstrip("/")
        for suffix in ("/v1/traces", "/v1/logs", "/v1/metrics"):
            if path.endswith(suffix):
                path = path[: -len(suffix)]
        self._scheme = parsed.scheme
        self._netloc = parsed.netloc
        self._base_path = path
        self._timeout = timeout
        self._headers = dict(headers or {})
        self._log_interval = log_interval
        self._last_log = float("-inf")
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._connection: http.client.HTTPConnection | None = None
        self.stats = ForwardStats()
        self._thread = threading.Thread(target=self._run, name="otlp-forwarder", daemon=True)
        self._thread.start()

    @property
    def target(self) -> str:
        """The base URL copies are sent to."""
        return f"{self._scheme}://{self._netloc}{self._base_path}"

    def submit(self, signal: Signal, payload: bytes, content_type: str) -> None:
        """Queue a copy without blocking; drops it (and counts the drop) when the queue is full."""
        try:
            self._queue.put_nowait((signal.http_path, payload, content_type))
        except queue.Full:
            self.stats.dropped += 1
            self._log_rate_limited(
                "Forwarding queue to %s is full; dropped a %s batch (%d dropped so far).",
                self.target,
                signal.name,
                self.stats.dropped,
            )

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued copy was attempted; returns False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, *, timeout: float = 5.0) -> None:
        """Send what is queued (for up to ``timeout`` seconds) and stop the worker."""
        self.wait_idle(timeout)
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            pass
        self._thread.join(timeout)
        if self._connection is not None:
            self._connection.close()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                path, payload, content_type = item  # type: ignore[misc]
                self._send(path, payload, content_type)
            finally:
                self._queue.task_done()

    def _send(self, path: str, payload: bytes, content_type: str) -> None:
        headers = {**self._headers, "Content-Type": content_type}
        for attempt in range(2):  # one reconnect for a kept-alive connection the peer closed
            try:
                connection = self._connect()
                connection.request("POST", self._base_path + path, body=payload, headers=headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                if attempt == 0:
                    continue
                self.stats.failed += 1
                self._log_rate_limited("Forwarding to %s failed: %s (%d failed so far).", self.target, exc, self.stats.failed)
                return
            if 200 <= response.status < 300:
                self.stats.sent += 1
            else:
                self.stats.failed += 1
                self._log_rate_limited(
                    "Forwarding to %s%s got HTTP %d (%d failed so far).",
                    self.target,
                    path,
                    response.status,
                    self.stats.failed,
                )
            return

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            factory = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            self._connection = factory(self._netloc, timeout=self._timeout)
        return self._connection

    def _drop_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _log_rate_limited(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_log >= self._log_interval:
            self._last_log = now
            _logger.warning(message, *args)
