"""Assessments this process wrote that may not be in Parquet yet (read-your-writes for the API).

``SpanStore.write_assessments`` returns once a row is durable in the write-ahead log, but the
views see it only after the next flush (about a second later). Without this overlay a client
that posts feedback and lists at once would not see it, a replayed ``assessment_id`` would look
new, and two deletes racing would both succeed. The overlay is bounded (by rows and by bytes);
rows fall out oldest first, by which time the flush has long made them visible in Parquet.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from otel_feedback_collector.storage import AssessmentRecord

DEFAULT_MAX_ROWS = 10_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class RecentAssessmentWrites:
    """A bounded, thread-safe memory of recently written assessment rows, by id and by trace."""

    def __init__(self, *, max_rows: int = DEFAULT_MAX_ROWS, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_rows < 1 or max_bytes < 1:
            raise ValueError("max_rows and max_bytes must be positive.")
        self._max_rows = max_rows
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._by_id: OrderedDict[str, tuple[AssessmentRecord, int]] = OrderedDict()
        self._by_trace: dict[str, dict[str, AssessmentRecord]] = {}
        self._bytes = 0

    def add(self, record: AssessmentRecord, *, size_bytes: int) -> None:
        """Remember a row that was just written durably (``size_bytes``: its approximate size)."""
        with self._lock:
            if record.assessment_id in self._by_id:
                return
            self._by_id[record.assessment_id] = (record, size_bytes)
            self._by_trace.setdefault(record.trace_id, {})[record.assessment_id] = record
            self._bytes += size_bytes
            while len(self._by_id) > self._max_rows or (self._bytes > self._max_bytes and len(self._by_id) > 1):
                self._evict_oldest()

    def get(self, assessment_id: str) -> AssessmentRecord | None:
        """The remembered row with this id, or None."""
        with self._lock:
            found = self._by_id.get(assessment_id)
        return found[0] if found else None

    def for_trace(self, trace_id: str) -> list[AssessmentRecord]:
        """The remembered rows of one trace."""
        with self._lock:
            return list(self._by_trace.get(trace_id, {}).values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_id)

    def _evict_oldest(self) -> None:
        assessment_id, (record, size) = self._by_id.popitem(last=False)
        self._bytes -= size
        rows = self._by_trace.get(record.trace_id)
        if rows is not None:
            rows.pop(assessment_id, None)
            if not rows:
                del self._by_trace[record.trace_id]
