"""The one export path both transports share: validate, write durably, forward, answer.

:class:`ExportPipeline` takes a decoded OTLP request, removes invalid items (counted for
``partial_success``), hands the rest to the store — which returns only once they are durable —
and queues a copy for the forward target. It bounds how many store writes run at once: a request
that cannot get a write slot within ``admission_timeout`` seconds is turned away with 503 /
UNAVAILABLE instead of piling up threads and memory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from otel_feedback_collector.otlp.encoding import MessageEncoding
from otel_feedback_collector.otlp.errors import Backpressure
from otel_feedback_collector.otlp.forwarding import Forwarder
from otel_feedback_collector.otlp.signals import LOGS, TRACES, Signal
from otel_feedback_collector.otlp.validation import validate_request

_logger = logging.getLogger(__name__)


class SpanSink(Protocol):
    """What the pipeline needs from the store (``otel_feedback_collector.storage.SpanStore`` provides it)."""

    def write_traces(self, request: Any, *, serialized: bytes | None = None) -> int:
        """Store the spans of an ExportTraceServiceRequest durably; raise StoreBusy when full.
        ``serialized``, when given, is the request's protobuf encoding (stored as is)."""
        ...

    def write_logs(self, request: Any) -> int:
        """Store the log records of an ExportLogsServiceRequest durably; raise StoreBusy when full."""
        ...


class ExportPipeline:
    """Validates, stores and forwards OTLP export requests; safe to call from many threads.

    ``busy_error`` is the exception the store raises when its write queue is full (by default
    ``otel_feedback_collector.storage.StoreBusy``); its ``retry_after`` attribute becomes the retry delay.
    """

    def __init__(
        self,
        store: SpanSink,
        *,
        forwarder: Forwarder | None = None,
        max_concurrent_writes: int = 4,
        admission_timeout: float = 10.0,
        overload_retry_after: float = 1.0,
        busy_error: type[Exception] | None = None,
    ) -> None:
        if max_concurrent_writes < 1:
            raise ValueError("max_concurrent_writes must be at least 1.")
        self._store = store
        self._writers: dict[Signal, Callable[[Any], int]] = {
            TRACES: store.write_traces,
            LOGS: store.write_logs,
        }
        self._forwarder = forwarder
        self._write_slots = threading.BoundedSemaphore(max_concurrent_writes)
        self._admission_timeout = admission_timeout
        self._overload_retry_after = overload_retry_after
        self._closed = False
        if busy_error is None:
            from otel_feedback_collector.storage import StoreBusy  # imported here so the CLI loads without storage

            busy_error = StoreBusy
        self._busy_error: type[Exception] = busy_error

    @property
    def forwarder(self) -> Forwarder | None:
        """The forward target, if one is configured."""
        return self._forwarder

    def close(self) -> None:
        """Refuse new exports from now on (503 / UNAVAILABLE) so the store can be closed."""
        self._closed = True

    def export(
        self,
        signal: Signal,
        request: Any,
        *,
        original: tuple[bytes, MessageEncoding] | None = None,
    ) -> Any:
        """Handle one export and return its response message; blocks until the data is durable.

        ``original`` is the decoded body as received; when nothing was rejected it is forwarded
        as is instead of serializing the request again.
        Raises :class:`Backpressure` when the store or the receiver is full.
        """
        if self._closed:
            raise Backpressure(
                "The collector is shutting down; retry against another instance or later.",
                retry_after=self._overload_retry_after,
                overloaded=True,
            )
        result = validate_request(signal, request)
        writer = self._writers.get(signal)
        if writer is not None and result.accepted:
            if signal is TRACES and not result.rejected and original is not None and original[1] is MessageEncoding.PROTOBUF:
                # Nothing was removed, so the body as received is the request's encoding: the
                # store keeps it instead of serializing the decoded request again (a tenth of
                # the receive path's CPU for GenAI spans).
                writer = partial(self._store.write_traces, serialized=original[0])
            self._write(writer, request)
        if self._forwarder is not None and (result.accepted or writer is None):
            if original is not None and not result.rejected:
                payload, encoding = original
            else:
                payload, encoding = request.SerializeToString(), MessageEncoding.PROTOBUF
            self._forwarder.submit(signal, payload, encoding.media_type)
        if result.rejected:
            _logger.info("Rejected %d %s item(s): %s", result.rejected, signal.name, result.message)
        return signal.response(rejected=result.rejected, message=result.message)

    def wait_for_room(self, signal: Signal, nbytes: int) -> None:
        """Wait (in a worker thread: it blocks) until the store has room for an export of
        ``nbytes``, and refuse it (429, :class:`Backpressure`) if none is made within the
        store's wait, before it is decoded: a full queue then costs no parsing. Only traces:
        the store logs a trace export's body as it came, but of a logs export only its
        assessments. Stores without ``wait_for_room`` admit everything here (their writes
        still decide)."""
        wait = getattr(self._store, "wait_for_room", None)
        if wait is None or signal is not TRACES:
            return
        try:
            wait(nbytes)
        except self._busy_error as exc:
            raise self._busy(exc) from exc

    def _busy(self, exc: Exception) -> Backpressure:
        retry_after = float(getattr(exc, "retry_after", None) or self._overload_retry_after)
        return Backpressure(
            f"The store's write queue is full ({exc}); retry in {retry_after:g} s.",
            retry_after=retry_after,
        )

    def _write(self, writer: Callable[[Any], int], request: Any) -> None:
        if not self._write_slots.acquire(timeout=self._admission_timeout):
            raise Backpressure(
                "The collector has too many writes in progress; retry shortly.",
                retry_after=self._overload_retry_after,
                overloaded=True,
            )
        try:
            writer(request)
        except self._busy_error as exc:
            raise self._busy(exc) from exc
        except Exception as exc:
            # Nothing was acknowledged, so the sender may retry: answer 503, not a final 500.
            fault_retry_after = getattr(exc, "retry_after", None)
            if fault_retry_after is not None:
                # A known storage fault (StoreUnavailable: disk full, failed fsync): the store
                # logged it once; one line per request is enough here.
                _logger.warning("The store could not write an export (%s); answering 503.", exc)
                raise Backpressure(
                    f"The collector could not store the data: {exc}",
                    retry_after=float(fault_retry_after),
                    overloaded=True,
                ) from exc
            _logger.exception("The store failed to write an export; answering 503 so the sender retries.")
            raise Backpressure(
                f"The collector could not store the data ({type(exc).__name__}); retry shortly.",
                retry_after=self._overload_retry_after,
                overloaded=True,
            ) from exc
        finally:
            self._write_slots.release()
