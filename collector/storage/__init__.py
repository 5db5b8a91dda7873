"""The collector's storage engine: a durable write path into Parquet, read through DuckDB views.

``SpanStore`` is what the receivers write to; ``connect(data_dir)`` gives any other process
the same views over the same files. docs/storage.md documents the layout and every column.
"""

from __future__ import annotations

from otel_feedback_collector.storage.assessments import AssessmentRecord
from otel_feedback_collector.storage.errors import IndexRebuilding, StoreBusy, StoreLocked, StoreUnavailable
from otel_feedback_collector.storage.store import SpanStore
from otel_feedback_collector.storage.views import VIEW_NAMES, connect

__all__ = ["AssessmentRecord", "IndexRebuilding", "SpanStore", "StoreBusy", "StoreLocked", "StoreUnavailable", "VIEW_NAMES", "connect"]
