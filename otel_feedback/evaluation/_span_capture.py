"""Keeping the spans of ``predict_fn`` calls in memory, so scorers can read them at once.

The spans of a traced call reach the collector a moment later (batched), and reach Parquet a
second after that; retrieval scorers need them now. ``SpanCapture`` is a span processor added
once to the provider our spans use; it keeps only the spans of traces an evaluation is
watching (``watch``/``release``) and ignores everything else with a dict lookup, so an app's
provider is not slowed down between evaluations. Processors run ``on_end`` synchronously, so
when a ``predict_fn`` call returns its spans are here.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from otel_feedback_core.wire import INPUT_VALUE, OUTPUT_VALUE, SPAN_KIND, SPAN_TYPE
from otel_feedback_core.json_text import decode_json_text
from otel_feedback.evaluation._trace import TraceSpan


class SpanCapture(SpanProcessor):
    """Collects the finished spans of watched trace ids (ints, as OTel keeps them)."""

    def __init__(self) -> None:
        self._watched: dict[int, list[TraceSpan]] = {}
        self._lock = threading.Lock()

    def watch(self, trace_id: int) -> None:
        """Start keeping the spans of ``trace_id``."""
        with self._lock:
            self._watched.setdefault(trace_id, [])

    def release(self, trace_id: int) -> list[TraceSpan]:
        """Stop watching ``trace_id`` and return its spans so far."""
        with self._lock:
            return self._watched.pop(trace_id, [])

    def spans(self, trace_id: int) -> list[TraceSpan]:
        """The spans of a watched trace so far."""
        with self._lock:
            return list(self._watched.get(trace_id, ()))

    def on_end(self, span: ReadableSpan) -> None:
        """Keep ``span`` when its trace is watched."""
        context = span.context
        if context is None or context.trace_id not in self._watched:
            return
        converted = to_trace_span(span)
        with self._lock:
            kept = self._watched.get(context.trace_id)
            if kept is not None:
                kept.append(converted)

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        """Nothing to do when a span starts."""

    def shutdown(self) -> None:
        """Forget everything."""
        with self._lock:
            self._watched.clear()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing is buffered for export."""
        return True


def to_trace_span(span: ReadableSpan) -> TraceSpan:
    """The scorer's view of an OTel SDK span."""
    attributes = dict(span.attributes or {})
    parent = span.parent
    span_type = attributes.get(SPAN_TYPE) or attributes.get(SPAN_KIND) or "UNKNOWN"
    return TraceSpan(
        span_id=format(span.context.span_id, "016x"),
        parent_span_id=format(parent.span_id, "016x") if parent is not None else None,
        name=span.name,
        span_type=str(span_type).upper(),
        inputs=decode_json_text(attributes.get(INPUT_VALUE)),
        outputs=decode_json_text(attributes.get(OUTPUT_VALUE)),
        attributes=attributes,
        start_time_unix_nano=span.start_time or 0,
    )


_captures: weakref.WeakKeyDictionary[Any, SpanCapture] = weakref.WeakKeyDictionary()
_captures_lock = threading.Lock()


def capture_for(provider: trace_api.TracerProvider) -> SpanCapture | None:
    """The capture processor on ``provider`` (added on first use); None if it takes none."""
    add = getattr(provider, "add_span_processor", None)
    if add is None:
        return None
    with _captures_lock:
        capture = _captures.get(provider)
        if capture is None:
            capture = SpanCapture()
            add(capture)
            _captures[provider] = capture
        return capture
