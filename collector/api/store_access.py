"""``ApiStore``: how the REST API reads and writes the collector's store.

Reads take a DuckDB connection per call (``store.reading()``: pooled cursors of the store's
trace index database, see storage/live_reads.py; never shared between threads). Writes go through ``SpanStore.write_assessments``, which returns once the row is
durable; the row is then remembered in :class:`RecentAssessmentWrites` so the API reads its own
writes before the next Parquet flush. Every method blocks: call it from a worker thread
(``run_in_threadpool``), never on the event loop.

Acknowledged but not yet flushed spans: a trace the app exported a moment ago is durable in the
store's write-ahead log but not yet in the ``spans`` view. Before answering 404 for an unknown
trace, span or assessment, the API therefore asks the store to flush and looks once more. Only
misses pay for that; a known trace costs one indexed lookup.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import zlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import duckdb

from otel_feedback_collector.api.assessment_json import current_assessments, latest_values, oldest_first, replacement_of
from otel_feedback_collector.api.errors import ApiError
from otel_feedback_collector.api.queries import (
    assessment_by_id,
    span_exists,
    trace_assessment_log,
    trace_exists,
    trace_spans,
)
from otel_feedback_collector.api.recent_writes import RecentAssessmentWrites
from otel_feedback_collector.query.search import root_texts, trace_and_window
from otel_feedback_collector.storage import AssessmentRecord, StoreBusy, StoreUnavailable
from otel_feedback_collector.storage.moved_files import retry_after_refresh

logger = logging.getLogger("otel_feedback_collector.api")

_T = TypeVar("_T")
_LOCK_STRIPES = 64


class KeyedLocks:
    """A fixed set of locks picked by key: work on one key is serialized, other keys run on."""

    def __init__(self, stripes: int = _LOCK_STRIPES) -> None:
        self._locks = [threading.Lock() for _ in range(stripes)]

    @contextlib.contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """Hold the lock of ``key`` for the ``with`` block."""
        lock = self._locks[zlib.crc32(key.encode("utf-8")) % len(self._locks)]
        with lock:
            yield


class ApiStore:
    """The store as the REST API uses it: per-call read connections, durable writes, 404 rules."""

    def __init__(self, store: Any, *, recent: RecentAssessmentWrites | None = None) -> None:
        self._store = store
        self._recent = recent if recent is not None else RecentAssessmentWrites()
        self._locks = KeyedLocks()

    # -- reading -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read connection for this call alone (the store's pooled one when it has them)."""
        reading = getattr(self._store, "reading", None)
        if reading is not None:
            with reading() as connection:
                yield connection
            return
        connection = self._store.connect()
        try:
            yield connection
        finally:
            connection.close()

    def read(self, query: Callable[[duckdb.DuckDBPyConnection], _T]) -> _T:
        """Run ``query`` on a read connection and return its result. When compaction moved a
        file away under it (storage/moved_files.py), it runs once more on a fresh one."""

        def once() -> _T:
            with self.connection() as connection:
                return query(connection)

        return retry_after_refresh(once, lambda: None)

    def flush(self) -> bool:
        """Make everything acknowledged so far queryable; False if the store cannot flush."""
        flush = getattr(self._store, "flush", None)
        if flush is None:
            return False
        flush()
        return True

    def require_trace(self, trace_id: str) -> None:
        """Raise 404 unless some span of ``trace_id`` was received (flushing once if needed)."""
        if not self._found(lambda c: trace_exists(c, trace_id)):
            raise ApiError(404, unknown_trace_message(trace_id))

    def require_span(self, trace_id: str, span_id: str) -> None:
        """Raise 404 unless span ``span_id`` of ``trace_id`` was received."""
        if not self._found(lambda c: span_exists(c, trace_id, span_id)):
            raise ApiError(
                404,
                f"Trace {trace_id} has no span {span_id}. Check the span id; if the app just "
                "sent that span, it may still be in the app's export queue: retry in a few seconds.",
            )

    def trace_log(self, trace_id: str) -> list[AssessmentRecord]:
        """The whole assessment log of one trace, oldest first, including this process's
        writes that are not in Parquet yet."""
        stored = self.read(lambda c: trace_assessment_log(c, trace_id))
        return oldest_first([*stored, *self._recent.for_trace(trace_id)])

    def trace_detail(self, trace_id: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[AssessmentRecord]]:
        """``(summary row, spans rows, assessment log)`` of one trace; 404 if it is unknown.

        The summary row is the search's row (``traces`` columns, root request/response,
        current assessment values).
        """

        def detail(connection: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
            # Five queries: the index row with its span window (two), the files that can hold
            # its spans, those spans, its assessment log. Everything else derives from them.
            summary, window = trace_and_window(connection, trace_id)
            if summary is None:
                return None
            spans = trace_spans(connection, trace_id, window)
            # The root's texts come from the spans read anyway (cheaper than the index's copy).
            summary["request"], summary["response"] = root_texts(spans)
            return summary, spans, trace_assessment_log(connection, trace_id)

        for attempt in range(2):
            read = self.read(detail)
            if read is not None:
                summary, spans, stored = read
                log = oldest_first([*stored, *self._recent.for_trace(trace_id)])
                # The values in force, from the log read anyway (what the ``traces`` row's
                # ``assessments`` holds, plus this process's writes not yet flushed).
                summary["assessments"] = latest_values(current_assessments(log))
                return summary, spans, log
            if attempt == 0 and not self.flush():
                break
        raise ApiError(404, unknown_trace_message(trace_id))

    # -- writing -----------------------------------------------------------------------------

    def create(self, record: AssessmentRecord, *, idempotent: bool, size_bytes: int) -> tuple[AssessmentRecord, bool]:
        """Store a ``create`` row; return ``(row, True)``, or ``(earlier row, False)`` when
        ``idempotent`` and a row with this ``assessment_id`` already exists (a replay)."""
        known = self.read(
            lambda connection: trace_exists(connection, record.trace_id)
            and (record.span_id is None or span_exists(connection, record.trace_id, record.span_id))
        )
        if not known:  # flush once, then answer 404 with the precise reason
            self.require_trace(record.trace_id)
            if record.span_id is not None:
                self.require_span(record.trace_id, record.span_id)
        with self._locks.hold(record.assessment_id):
            if idempotent:
                # This process's writes are in the overlay; older ones are in the files.
                earlier = self._recent.get(record.assessment_id) or self.read(
                    lambda connection: assessment_by_id(connection, record.assessment_id)
                )
                if earlier is not None:
                    if earlier.trace_id != record.trace_id:
                        raise ApiError(
                            422,
                            f"assessment_id {record.assessment_id!r} is already used on trace "
                            f"{earlier.trace_id}; choose a new id (a UUID) for this assessment.",
                        )
                    return earlier, False
            self.write(record, size_bytes=size_bytes)
        return record, True

    def replace(
        self,
        trace_id: str,
        assessment_id: str,
        build: Callable[[AssessmentRecord], AssessmentRecord],
        *,
        size_bytes: int,
    ) -> AssessmentRecord:
        """Store the override or delete row ``build(current row)`` for a current assessment;
        404 when it is unknown on this trace or was already overridden or deleted."""
        with self._locks.hold(assessment_id):
            log = self.trace_log(trace_id)
            target = _find(log, assessment_id)
            if target is None and self.flush():
                log = self.trace_log(trace_id)
                target = _find(log, assessment_id)
            if target is None or target.action == "delete":
                raise ApiError(
                    404,
                    f"Trace {trace_id} has no assessment {assessment_id}. List its assessments "
                    f"(GET /api/v1/traces/{trace_id}/assessments) for the current ids.",
                )
            replacement = replacement_of(log, assessment_id)
            if replacement is not None:
                done = "deleted" if replacement.action == "delete" else "overridden"
                raise ApiError(
                    404,
                    f"Assessment {assessment_id} was already {done} (by {replacement.assessment_id}); "
                    "act on the current assessment instead (see the trace's assessment list).",
                )
            row = build(target)
            self.write(row, size_bytes=size_bytes)
        return row

    def write(self, record: AssessmentRecord, *, size_bytes: int) -> None:
        """Write one row durably; 429 when the store is busy, 503 when it cannot write (disk
        full), 500 (logged) on any other failure."""
        try:
            self._store.write_assessments([record])
        except StoreBusy as busy:
            raise ApiError(
                429,
                f"The collector is busy and did not store the assessment: {busy} Retry after "
                "the Retry-After delay; send an assessment_id so that a retry is stored once.",
                retry_after=busy.retry_after,
            ) from None
        except StoreUnavailable as fault:
            raise ApiError(
                503,
                f"The collector could not store the assessment durably: {fault} Retry after the "
                "Retry-After delay; send an assessment_id so that a retry is stored once.",
                retry_after=fault.retry_after,
            ) from None
        except Exception as exc:
            logger.exception("Writing assessment %s of trace %s failed.", record.assessment_id, record.trace_id)
            raise ApiError(
                500,
                f"The collector could not store the assessment ({type(exc).__name__}: {exc}). See "
                "the collector's log, then retry; send an assessment_id so that a retry is stored once.",
            ) from None
        self._recent.add(record, size_bytes=size_bytes)

    # -- internals ---------------------------------------------------------------------------

    def _found(self, check: Callable[[duckdb.DuckDBPyConnection], bool]) -> bool:
        if self.read(check):
            return True
        return self.flush() and self.read(check)


def unknown_trace_message(trace_id: str) -> str:
    """The 404 sentence for a trace id no span of which has arrived."""
    return (
        f"No trace {trace_id} has reached this collector. If the app just answered, its spans "
        "may still be in the app's export queue (batch processors send every few seconds): "
        "retry in a few seconds. Otherwise check the trace id and the app's OTLP endpoint."
    )


def _find(log: list[AssessmentRecord], assessment_id: str) -> AssessmentRecord | None:
    for record in log:
        if record.assessment_id == assessment_id:
            return record
    return None
