"""Every column of a span row, for spans spread over several resources and scopes with skipped
spans between them: the values a resource or scope shares land on its own spans only."""

from __future__ import annotations

import json

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_feedback_collector.storage.schema import SPAN_SCHEMA
from otel_feedback_collector.storage.span_rows import traces_request_to_rows
from otlp_builders import key_values, make_span

_TRACE = bytes.fromhex("0123456789abcdef0123456789abcdef")


def _span(number: int, **changes: object) -> Span:
    span = make_span(
        trace_id=_TRACE,
        span_id=bytes([0, 0, 0, 0, 0, 0, 0, number]),
        name=f"span {number}",
        start_ns=1_700_000_000_000_000_000 + number,
        duration_ns=2_500_000,
        attributes={"openinference.span.kind": "TOOL", "n": number},
    )
    for field, value in changes.items():
        setattr(span, field, value)
    return span


def _request() -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    first = request.resource_spans.add()
    first.resource.attributes.extend(key_values({"service.name": "first", "host": "a"}))
    scope = first.scope_spans.add()
    scope.scope.name = "lib"
    scope.scope.version = "1.2"
    detailed = _span(1, parent_span_id=bytes(8), kind=7, trace_state="k=v")
    detailed.status.code = 2
    detailed.status.message = "boom"
    detailed.events.add(name="retry", time_unix_nano=5).attributes.extend(key_values({"try": 2}))
    link = detailed.links.add(trace_id=_TRACE, span_id=bytes([9] * 8), trace_state="l=1")
    link.attributes.extend(key_values({"why": "follows"}))
    scope.spans.extend([detailed, _span(2, span_id=bytes(8)), _span(1)])  # all-zero id, repeat
    first.scope_spans.add()  # a scope without spans
    second_scope = first.scope_spans.add()
    second_scope.spans.extend([_span(3, parent_span_id=bytes([0, 0, 0, 0, 0, 0, 0, 1]))])
    second = request.resource_spans.add()
    second.resource.attributes.extend(key_values({"otel_feedback.experiment": "exp"}))
    second.scope_spans.add().spans.extend([_span(4, trace_id=b""), _span(5, kind=3), _span(6)])
    return request


def test_every_column_of_spans_over_several_resources_and_scopes() -> None:
    table, assessments = traces_request_to_rows(_request())
    assert table.schema == SPAN_SCHEMA
    assert assessments == []
    rows = table.to_pylist()
    assert [row["name"] for row in rows] == ["span 1", "span 3", "span 5", "span 6"]
    first = rows[0]
    assert {key: value for key, value in first.items() if key not in ("start_time", "end_time")} == {
        "trace_id": "0123456789abcdef0123456789abcdef",
        "span_id": "0000000000000001",
        "parent_span_id": None,
        "name": "span 1",
        "span_type": "TOOL",
        "span_kind": "7",
        "service_name": "first",
        "experiment": "first",
        "start_time_unix_nano": 1_700_000_000_000_000_001,
        "end_time_unix_nano": 1_700_000_000_002_500_001,
        "duration_ms": 2.5,
        "status_code": "ERROR",
        "status_message": "boom",
        "input": None,
        "output": None,
        "input_preview": None,
        "output_preview": None,
        "model": None,
        "input_tokens": None,
        "output_tokens": None,
        "total_tokens": None,
        "session_id": None,
        "user_id": None,
        "attributes": '{"openinference.span.kind":"TOOL","n":1}',
        "resource_attributes": '{"service.name":"first","host":"a"}',
        "scope_name": "lib",
        "scope_version": "1.2",
        "events": '[{"name":"retry","time_unix_nano":5,"attributes":{"try":2}}]',
        "links": json.dumps(
            [
                {
                    "trace_id": "0123456789abcdef0123456789abcdef",
                    "span_id": "0909090909090909",
                    "trace_state": "l=1",
                    "attributes": {"why": "follows"},
                }
            ],
            separators=(",", ":"),
        ),
        "trace_state": "k=v",
    }
    assert first["start_time"].timestamp() * 1e6 == 1_700_000_000_000_000
    shared = [
        (row["service_name"], row["experiment"], row["resource_attributes"], row["scope_name"], row["scope_version"])
        for row in rows
    ]
    assert shared == [
        ("first", "first", '{"service.name":"first","host":"a"}', "lib", "1.2"),
        ("first", "first", '{"service.name":"first","host":"a"}', None, None),
        (None, "exp", '{"otel_feedback.experiment":"exp"}', None, None),
        (None, "exp", '{"otel_feedback.experiment":"exp"}', None, None),
    ]
    assert [(row["parent_span_id"], row["span_kind"], row["status_code"]) for row in rows[1:]] == [
        ("0000000000000001", "INTERNAL", "UNSET"),
        (None, "CLIENT", "UNSET"),
        (None, "INTERNAL", "UNSET"),
    ]


def test_a_request_without_spans_gives_an_empty_table() -> None:
    table, assessments = traces_request_to_rows(ExportTraceServiceRequest())
    assert table.num_rows == 0
    assert table.schema == SPAN_SCHEMA
    assert assessments == []
