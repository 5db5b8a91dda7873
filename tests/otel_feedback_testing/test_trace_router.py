"""The trace-id router: splits exports by trace id, keeps resource and scope, passes failures on."""

from __future__ import annotations

import socket

import httpx
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from otel_feedback_testing.trace_router import TraceRouter, backend_index, split_logs, split_traces


def _ids_for_each_backend() -> tuple[bytes, bytes]:
    """Two trace ids that go to different backends of two."""
    ids = [bytes([n]) * 16 for n in range(1, 20)]
    first = next(i for i in ids if backend_index(i, 2) == 0)
    return first, next(i for i in ids if backend_index(i, 2) == 1)


def test_spans_and_log_records_follow_their_trace_id_with_resource_and_scope() -> None:
    to_a, to_b = _ids_for_each_backend()
    traces = ExportTraceServiceRequest()
    resource = traces.resource_spans.add()
    resource.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="app")))
    scope = resource.scope_spans.add()
    scope.scope.name = "lib"
    for number, trace_id in enumerate([to_a, to_b, to_a]):
        scope.spans.add(trace_id=trace_id, span_id=bytes([number + 1]) * 8, name=f"s{number}")
    parts = split_traces(traces, 2)
    assert [[s.name for r in p.resource_spans for sc in r.scope_spans for s in sc.spans] for p in parts] == [
        ["s0", "s2"], ["s1"]
    ]
    assert all(p.resource_spans[0].resource == resource.resource for p in parts)
    assert all(p.resource_spans[0].scope_spans[0].scope.name == "lib" for p in parts)
    logs = ExportLogsServiceRequest()
    records = logs.resource_logs.add().scope_logs.add()
    records.log_records.add(trace_id=to_b, event_name="gen_ai.evaluation.result")
    records.log_records.add(event_name="no trace")  # goes to the first backend
    log_parts = split_logs(logs, 2)
    assert [[r.event_name for rl in p.resource_logs for sl in rl.scope_logs for r in sl.log_records] for p in log_parts] == [
        ["no trace"], ["gen_ai.evaluation.result"]
    ]


def test_a_backend_that_does_not_answer_makes_the_sender_retry() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{unused.getsockname()[1]}"  # bound, not listening: refused
        with TraceRouter([dead]) as router:
            request = ExportTraceServiceRequest()
            request.resource_spans.add().scope_spans.add().spans.add(trace_id=b"\x01" * 16, span_id=b"\x01" * 8)
            answer = httpx.post(f"{router.url}/v1/traces", content=request.SerializeToString(),
                                headers={"Content-Type": "application/x-protobuf"}, timeout=30)
            assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
            assert router.forwarded == [0]
            wrong = httpx.post(f"{router.url}/v1/traces", content=b"{}", headers={"Content-Type": "application/json"},
                               timeout=10)
            assert wrong.status_code == 415
