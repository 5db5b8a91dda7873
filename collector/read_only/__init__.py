"""``otel-feedback serve --read-only --data A --data B``: the UI and REST API over several
collectors' data directories, reading their Parquet files only and storing nothing.

:class:`ReadOnlyStore` is the store the API and UI read through (views over every directory,
rebuilt when a directory's manifest changes); :class:`ReadOnlyMiddleware` refuses every request
that would write, with a JSON error saying where to send it instead (docs/scaling.md).
"""

from __future__ import annotations

from otel_feedback_collector.read_only.refusal import READ_ONLY_MESSAGE, ReadOnlyMiddleware
from otel_feedback_collector.read_only.store import ReadOnlyStore

__all__ = ["READ_ONLY_MESSAGE", "ReadOnlyMiddleware", "ReadOnlyStore"]
