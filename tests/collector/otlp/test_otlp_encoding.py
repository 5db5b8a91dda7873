"""OTLP JSON decoding rules and response encoding."""

from __future__ import annotations

import json

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otel_feedback_collector.otlp.encoding import (
    MessageEncoding,
    decode_message,
    encode_message,
    encoding_for_content_type,
)
from otel_feedback_collector.otlp.errors import MalformedRequest, UnsupportedMediaType
from otel_feedback_collector.otlp.signals import TRACES

TRACE_HEX = "5b8efff798038103d269b633813fc60c"
SPAN_HEX = "eee19b7ec3c1b174"
PARENT_HEX = "eee19b7ec3c1b173"


def test_otlp_json_with_hex_ids_camel_case_string_int64_and_unknown_fields() -> None:
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "lib"},
                        "spans": [
                            {
                                "traceId": TRACE_HEX.upper(),
                                "spanId": SPAN_HEX,
                                "parentSpanId": PARENT_HEX,
                                "name": "op",
                                "kind": 3,
                                "startTimeUnixNano": "1544712660000000000",
                                "endTimeUnixNano": 1544712661000000000,
                                "attributes": [{"key": "n", "value": {"intValue": "42"}}],
                                "links": [{"traceId": TRACE_HEX, "spanId": PARENT_HEX}],
                                "status": {"code": 2, "message": "boom"},
                                "someFutureField": {"x": 1},
                            }
                        ],
                    }
                ],
            }
        ]
    }
    request = ExportTraceServiceRequest()
    decode_message(json.dumps(body).encode(), MessageEncoding.JSON, request)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == TRACE_HEX
    assert span.span_id.hex() == SPAN_HEX
    assert span.parent_span_id.hex() == PARENT_HEX
    assert span.links[0].span_id.hex() == PARENT_HEX
    assert span.kind == 3
    assert span.start_time_unix_nano == 1544712660000000000
    assert span.end_time_unix_nano == 1544712661000000000
    assert span.attributes[0].value.int_value == 42
    assert span.status.code == 2


def test_otlp_json_accepts_snake_case_field_names() -> None:
    body = {
        "resource_logs": [
            {"scope_logs": [{"log_records": [{"trace_id": TRACE_HEX, "span_id": SPAN_HEX, "severity_number": 9}]}]}
        ]
    }
    request = ExportLogsServiceRequest()
    decode_message(json.dumps(body).encode(), MessageEncoding.JSON, request)
    record = request.resource_logs[0].scope_logs[0].log_records[0]
    assert (record.trace_id.hex(), record.span_id.hex(), record.severity_number) == (TRACE_HEX, SPAN_HEX, 9)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"resourceSpans": "oops"}',
        "\u00ff".encode("latin-1"),
        b'{"resourceSpans": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"resourceSpans": [{"resource": {"attributes": [{"key": "k", "value": '
        + b'{"kvlistValue": {"values": [{"key": "k", "value": ' * 400
        + b"{}" + b"}]}}" * 400 + b"}]}}]}",
    ],
)
def test_malformed_json_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedRequest):
        decode_message(body, MessageEncoding.JSON, ExportTraceServiceRequest())


def test_malformed_protobuf_is_refused() -> None:
    with pytest.raises(MalformedRequest, match="protobuf"):
        decode_message(b"\xff\xff\xff\xff", MessageEncoding.PROTOBUF, ExportTraceServiceRequest())


def test_content_types() -> None:
    assert encoding_for_content_type("application/x-protobuf") is MessageEncoding.PROTOBUF
    assert encoding_for_content_type("application/json; charset=utf-8") is MessageEncoding.JSON
    for bad in (None, "text/plain", "application/xml"):
        with pytest.raises(UnsupportedMediaType):
            encoding_for_content_type(bad)


def test_partial_success_response_in_json() -> None:
    response = TRACES.response(rejected=2, message="2 item(s) rejected")
    document = json.loads(encode_message(response, MessageEncoding.JSON))
    assert document == {"partialSuccess": {"rejectedSpans": "2", "errorMessage": "2 item(s) rejected"}}
    assert json.loads(encode_message(TRACES.response(), MessageEncoding.JSON)) == {}
