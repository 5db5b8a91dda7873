"""OTLP/HTTP answers: every status the spec names, provoked, and the server still serving after."""

from __future__ import annotations

import gzip
import json
import resource
import socket
import threading
import zlib

import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.server import CollectorServer
from otlp_recording_store import RecordingStore

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


def post(server: CollectorServer, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.http_url}{path}", content=body, headers=headers, timeout=30)


def assert_still_serving(server: CollectorServer, store: RecordingStore) -> None:
    before = len(store.spans())
    response = post(server, "/v1/traces", genai_trace_request(1).SerializeToString(), PROTOBUF)
    assert response.status_code == 200
    assert len(store.spans()) == before + 3


def test_protobuf_export_is_stored_and_answered_in_protobuf(
    recording_collector: CollectorServer, recording_store: RecordingStore
) -> None:
    request = genai_trace_request(5)
    response = post(recording_collector, "/v1/traces", request.SerializeToString(), PROTOBUF)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert not answer.HasField("partial_success")
    assert [s.span_id for s in recording_store.spans()] == [
        s.span_id for s in request.resource_spans[0].scope_spans[0].spans
    ]


def test_json_export_with_hex_ids_is_answered_in_json(
    recording_collector: CollectorServer, recording_store: RecordingStore
) -> None:
    body = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "json-span",
                                "startTimeUnixNano": "1",
                                "endTimeUnixNano": "2",
                            }
                        ]
                    }
                ]
            }
        ]
    }
    response = post(recording_collector, "/v1/traces", json.dumps(body).encode(), JSON)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}
    (span,) = recording_store.spans()
    assert (span.name, span.trace_id.hex(), span.span_id.hex()) == (
        "json-span",
        "5b8efff798038103d269b633813fc60c",
        "eee19b7ec3c1b174",
    )


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_compressed_bodies_are_inflated(
    coding: str, recording_collector: CollectorServer, recording_store: RecordingStore
) -> None:
    raw = genai_trace_request(2).SerializeToString()
    body = gzip.compress(raw) if coding == "gzip" else zlib.compress(raw)
    response = post(recording_collector, "/v1/traces", body, {**PROTOBUF, "Content-Encoding": coding})
    assert response.status_code == 200
    assert len(recording_store.spans()) == 6


def test_invalid_spans_are_rejected_with_partial_success_and_the_rest_kept(
    recording_collector: CollectorServer, recording_store: RecordingStore
) -> None:
    request = genai_trace_request(4)
    spans = request.resource_spans[0].scope_spans[0].spans
    spans[0].trace_id = bytes(16)  # all zero
    spans[1].span_id = b"\x01\x02"  # too short
    spans[2].trace_id = b"\x01" * 15  # too short
    spans[3].parent_span_id = b"\x01" * 3  # bad parent
    kept = [s.span_id for s in spans[4:]]
    response = post(recording_collector, "/v1/traces", request.SerializeToString(), PROTOBUF)
    assert response.status_code == 200
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 4
    assert "4 item(s) rejected" in answer.partial_success.error_message
    assert "not 16 non-zero bytes" in answer.partial_success.error_message
    assert [s.span_id for s in recording_store.spans()] == kept


def test_partial_success_in_json(recording_collector: CollectorServer) -> None:
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "", "spanId": "0102030405060708"}]}]}]}
    response = post(recording_collector, "/v1/traces", json.dumps(body).encode(), JSON)
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"


def test_log_records_with_bad_ids_are_rejected(
    recording_collector: CollectorServer, recording_store: RecordingStore
) -> None:
    request = ExportLogsServiceRequest()
    records = request.resource_logs.add().scope_logs.add().log_records
    records.add(body={"string_value": "no trace context is fine"})
    records.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
    records.add(trace_id=b"\x01" * 5)
    response = post(recording_collector, "/v1/logs", request.SerializeToString(), PROTOBUF)
    assert response.status_code == 200
    assert b"rejected" in response.content
    stored = recording_store.logs[0].resource_logs[0].scope_logs[0].log_records
    assert len(stored) == 2


def test_metrics_are_answered_with_success_and_not_stored(
    recording_collector: CollectorServer, recording_store: RecordingStore
) -> None:
    request = ExportMetricsServiceRequest()
    request.resource_metrics.add().scope_metrics.add().metrics.add(name="requests")
    response = post(recording_collector, "/v1/metrics", request.SerializeToString(), PROTOBUF)
    assert response.status_code == 200
    assert recording_store.traces == [] and recording_store.logs == []


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"\xff\xff\xff\xff\xff", PROTOBUF),
        (b"{broken", JSON),
        (b"not gzip at all", {**PROTOBUF, "Content-Encoding": "gzip"}),
        # 6 MB of empty gzip members: cost 25 s of CPU (quadratic inflation), now a quick 400.
        (gzip.compress(b"") * 300_000, {**PROTOBUF, "Content-Encoding": "gzip"}),
    ],
    ids=["protobuf", "json", "gzip", "gzip-members"],
)
def test_malformed_body_gets_400_with_a_status_message(
    body: bytes,
    headers: dict[str, str],
    recording_collector: CollectorServer,
    recording_store: RecordingStore,
) -> None:
    response = post(recording_collector, "/v1/traces", body, headers)
    assert response.status_code == 400
    if headers["Content-Type"] == "application/json":
        assert response.json()["code"] == 3
        assert response.json()["message"]
    else:
        status = status_pb2.Status.FromString(response.content)
        assert status.code == 3 and status.message
    assert_still_serving(recording_collector, recording_store)


@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_unsupported_content_type_gets_415(
    content_type: str | None, recording_collector: CollectorServer, recording_store: RecordingStore
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = post(recording_collector, "/v1/traces", b"hello", headers)
    assert response.status_code == 415
    assert "application/x-protobuf" in response.json()["message"]
    assert_still_serving(recording_collector, recording_store)


def test_unsupported_content_encoding_gets_415(
    recording_collector: CollectorServer, recording_store: RecordingStore
) -> None:
    response = post(recording_collector, "/v1/traces", b"x", {**PROTOBUF, "Content-Encoding": "br"})
    assert response.status_code == 415
    assert_still_serving(recording_collector, recording_store)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method_gets_405(
    method: str, recording_collector: CollectorServer, recording_store: RecordingStore
) -> None:
    response = httpx.request(method, f"{recording_collector.http_url}/v1/traces")
    assert response.status_code == 405
    assert "POST" in response.headers["allow"]
    assert_still_serving(recording_collector, recording_store)


def test_body_over_the_limit_on_the_wire_gets_413(start_collector, recording_store: RecordingStore) -> None:  # type: ignore[no-untyped-def]
    server = start_collector(store=recording_store, max_body_bytes=20_000)
    body = genai_trace_request(20).SerializeToString()
    assert len(body) > 20_000
    response = post(server, "/v1/traces", body, PROTOBUF)
    assert response.status_code == 413
    assert "--max-body-bytes" in status_pb2.Status.FromString(response.content).message
    assert_still_serving(server, recording_store)


def test_chunked_body_over_the_limit_gets_413(start_collector, recording_store: RecordingStore) -> None:  # type: ignore[no-untyped-def]
    server = start_collector(store=recording_store, max_body_bytes=20_000)

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(5):
            yield b"\x00" * 8_000

    response = httpx.post(f"{server.http_url}/v1/traces", content=chunks(), headers=PROTOBUF)
    assert response.status_code == 413
    assert_still_serving(server, recording_store)


def test_gzip_bomb_gets_413_without_being_inflated(start_collector, recording_store: RecordingStore) -> None:  # type: ignore[no-untyped-def]
    server = start_collector(store=recording_store, max_body_bytes=4 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    bomb = b"".join([*(compressor.compress(zeros) for _ in range(512)), compressor.flush()])  # 512 MiB inflated
    assert len(bomb) < (4 << 20)
    peak_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    response = post(server, "/v1/traces", bomb, {**PROTOBUF, "Content-Encoding": "gzip"})
    peak_after_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert response.status_code == 413
    assert "after decompression" in status_pb2.Status.FromString(response.content).message
    # Inflating the bomb would have added 512 MiB to this process's peak RSS.
    assert peak_after_kib - peak_before_kib < 200 * 1024
    assert_still_serving(server, recording_store)


def test_busy_store_gets_429_with_retry_after(
    recording_collector: CollectorServer, recording_store: RecordingStore
) -> None:
    recording_store.busy_retry_after = 2.5
    response = post(recording_collector, "/v1/traces", genai_trace_request(1).SerializeToString(), PROTOBUF)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert status_pb2.Status.FromString(response.content).code == 8  # RESOURCE_EXHAUSTED
    recording_store.busy_retry_after = None
    assert_still_serving(recording_collector, recording_store)


def test_shutting_down_pipeline_gets_503_with_retry_after(
    recording_collector: CollectorServer, recording_store: RecordingStore
) -> None:
    recording_collector.pipeline.close()
    response = post(recording_collector, "/v1/traces", b"{}", JSON)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == 14  # UNAVAILABLE
    assert recording_store.traces == []


def test_unknown_path_gets_404(recording_collector: CollectorServer) -> None:
    assert httpx.post(f"{recording_collector.http_url}/v1/other", content=b"", headers=PROTOBUF).status_code == 404


def test_empty_request_is_a_success(recording_collector: CollectorServer, recording_store: RecordingStore) -> None:
    response = post(recording_collector, "/v1/traces", ExportTraceServiceRequest().SerializeToString(), PROTOBUF)
    assert response.status_code == 200
    assert recording_store.traces == []


def test_too_many_exports_in_progress_get_503_and_then_recover(start_collector) -> None:  # type: ignore[no-untyped-def]
    store = RecordingStore()
    store.gate = threading.Event()
    server = start_collector(store=store, max_pending_requests=1)
    body = genai_trace_request(1).SerializeToString()
    first: list[httpx.Response] = []
    blocked = threading.Thread(target=lambda: first.append(post(server, "/v1/traces", body, PROTOBUF)))
    blocked.start()
    try:
        assert store.entered.wait(10), "the first export never reached the store"
        response = post(server, "/v1/traces", body, PROTOBUF)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
    finally:
        store.gate.set()
        blocked.join(10)
    assert first[0].status_code == 200
    store.gate = None
    assert_still_serving(server, store)


def test_a_store_fault_gets_a_retryable_503(
    recording_collector: CollectorServer, recording_store: RecordingStore
) -> None:
    recording_store.failure = OSError(28, "No space left on device")
    response = post(recording_collector, "/v1/traces", genai_trace_request(1).SerializeToString(), PROTOBUF)
    assert response.status_code == 503
    assert "OSError" in status_pb2.Status.FromString(response.content).message
    recording_store.failure = None
    assert_still_serving(recording_collector, recording_store)


def test_a_sender_vanishing_mid_body_stores_nothing(
    recording_collector: CollectorServer, recording_store: RecordingStore
) -> None:
    host, port = recording_collector.http_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(
            b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
            b"Content-Length: 100000\r\n\r\n" + genai_trace_request(1).SerializeToString()[:500]
        )
    assert_still_serving(recording_collector, recording_store)
    assert len(recording_store.traces) == 1


def test_a_stalled_body_gets_408_and_frees_its_slot(start_collector) -> None:  # type: ignore[no-untyped-def]
    store = RecordingStore()
    server = start_collector(store=store, max_pending_requests=1, body_read_timeout=0.3)
    host, port = server.http_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port))) as connection:
        connection.settimeout(10)
        connection.sendall(
            b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
            b"Content-Length: 100000\r\n\r\n" + b"\x00" * 100
        )
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert_still_serving(server, store)
