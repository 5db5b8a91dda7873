"""Build OTLP trace and log export requests with the real ``opentelemetry.proto`` messages."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status


def any_value(value: Any) -> AnyValue:
    """Return a Python value as an OTLP AnyValue."""
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, (list, tuple)):
        result = AnyValue()
        result.array_value.values.extend(any_value(v) for v in value)
        return result
    return AnyValue(string_value=str(value))


def key_values(attributes: Mapping[str, Any]) -> list[KeyValue]:
    """Return a dict as OTLP attributes."""
    return [KeyValue(key=k, value=any_value(v)) for k, v in attributes.items()]


def new_trace_id() -> bytes:
    """A random 16-byte trace id."""
    return os.urandom(16)


def make_span(
    *,
    trace_id: bytes,
    name: str = "span",
    span_id: bytes | None = None,
    parent_span_id: bytes | None = None,
    attributes: Mapping[str, Any] | None = None,
    events: Sequence[tuple[str, Mapping[str, Any]]] = (),
    status_error: bool = False,
    start_ns: int | None = None,
    duration_ns: int = 1_000_000,
) -> Span:
    """Return an OTLP span."""
    start = time.time_ns() if start_ns is None else start_ns
    span = Span(
        trace_id=trace_id,
        span_id=span_id or os.urandom(8),
        name=name,
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start,
        end_time_unix_nano=start + duration_ns,
    )
    if parent_span_id:
        span.parent_span_id = parent_span_id
    span.attributes.extend(key_values(attributes or {}))
    for event_name, event_attributes in events:
        event = span.events.add(name=event_name, time_unix_nano=start + 1)
        event.attributes.extend(key_values(event_attributes))
    if status_error:
        span.status.code = Status.STATUS_CODE_ERROR
        span.status.message = "boom"
    return span


def traces_request(
    spans: Sequence[Span], *, resource: Mapping[str, Any] | None = None
) -> ExportTraceServiceRequest:
    """Wrap spans in an export request with one resource and one scope."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        key_values(resource if resource is not None else {"service.name": "test-app"})
    )
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "tests"
    scope_spans.spans.extend(spans)
    return request


def genai_trace(*, text: str = "hello", session: str = "s1") -> tuple[bytes, list[Span]]:
    """A CHAIN root with a RETRIEVER and an LLM child, as our SDK emits them."""
    trace_id = new_trace_id()
    root = make_span(
        trace_id=trace_id,
        name="chat_app",
        attributes={
            "openinference.span.kind": "CHAIN",
            "input.value": f"question: {text}",
            "output.value": f"answer: {text}",
            "session.id": session,
            "user.id": "u1",
        },
    )
    retriever = make_span(
        trace_id=trace_id,
        name="retrieve",
        parent_span_id=root.span_id,
        attributes={"openinference.span.kind": "RETRIEVER", "input.value": text},
    )
    llm = make_span(
        trace_id=trace_id,
        name="chat gpt-4o-mini",
        parent_span_id=root.span_id,
        attributes={
            "openinference.span.kind": "LLM",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 5,
        },
    )
    return trace_id, [root, retriever, llm]


def logs_request(records: Sequence[dict[str, Any]]) -> ExportLogsServiceRequest:
    """Build a logs export request; each dict has trace_id, span_id, attributes, event_name."""
    request = ExportLogsServiceRequest()
    scope_logs = request.resource_logs.add().scope_logs.add()
    for item in records:
        record = scope_logs.log_records.add(
            time_unix_nano=time.time_ns(),
            trace_id=item.get("trace_id", b""),
            span_id=item.get("span_id", b""),
            event_name=item.get("event_name", ""),
        )
        record.attributes.extend(key_values(item.get("attributes", {})))
    return request
