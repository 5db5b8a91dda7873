"""Forwarding: a copy of every accepted export reaches the next OTLP receiver, never blocking ours."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from otel_feedback_collector.otlp.forwarding import Forwarder
from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otlp_recording_store import RecordingStore

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def wait_for(condition: Callable[[], bool], *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        time.sleep(0.02)


def test_forwarded_copies_reach_a_second_collector(start_collector) -> None:  # type: ignore[no-untyped-def]
    downstream_store, upstream_store = RecordingStore(), RecordingStore()
    downstream = start_collector(store=downstream_store)
    upstream = start_collector(store=upstream_store, forward_url=f"{downstream.http_url}/v1/traces")
    request = genai_trace_request(3)
    request.resource_spans[0].scope_spans[0].spans[0].trace_id = b""  # rejected, so not forwarded
    response = httpx.post(f"{upstream.http_url}/v1/traces", content=request.SerializeToString(), headers=PROTOBUF)
    assert response.status_code == 200
    json_body = {
        "resourceSpans": [
            {"scopeSpans": [{"spans": [{"traceId": "01" * 16, "spanId": "02" * 8, "name": "from-json"}]}]}
        ]
    }
    response = httpx.post(
        f"{upstream.http_url}/v1/traces", content=json.dumps(json_body).encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    with grpc.insecure_channel(upstream.grpc_endpoint) as channel:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(genai_trace_request(1), timeout=10)
    wait_for(lambda: len(downstream_store.spans()) == 8 + 1 + 3)
    assert sorted(s.span_id for s in downstream_store.spans()) == sorted(s.span_id for s in upstream_store.spans())
    assert "from-json" in {s.name for s in downstream_store.spans()}
    forwarder = upstream.forwarder
    assert forwarder is not None
    # The copy is stored downstream before the forwarder has read the answer and counted it.
    wait_for(lambda: forwarder.stats.sent == 3)
    assert forwarder.stats.failed == forwarder.stats.dropped == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_dead_forward_target_neither_fails_nor_blocks_the_ack(
    start_collector, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    store = RecordingStore()
    server = start_collector(store=store, forward_url=f"http://127.0.0.1:{_closed_port()}")
    for _ in range(3):
        body = genai_trace_request(1).SerializeToString()
        assert httpx.post(f"{server.http_url}/v1/traces", content=body, headers=PROTOBUF).status_code == 200
    assert len(store.spans()) == 9
    forwarder = server.forwarder
    assert forwarder is not None
    wait_for(lambda: forwarder.stats.failed == 3)
    failures = [r for r in caplog.records if "Forwarding to" in r.getMessage()]
    assert len(failures) == 1  # rate-limited: one line, not one per batch


def test_full_forward_queue_drops_instead_of_blocking() -> None:
    forwarder = Forwarder(f"http://127.0.0.1:{_closed_port()}", max_queue=1, log_interval=3600)
    try:
        from otel_feedback_collector.otlp.signals import TRACES

        started = time.monotonic()
        for _ in range(200):
            forwarder.submit(TRACES, b"x", "application/x-protobuf")
        assert time.monotonic() - started < 5.0
        assert forwarder.stats.dropped > 0
    finally:
        forwarder.close(timeout=5)


@pytest.mark.parametrize("url", ["ftp://example", "not a url", "http://"])
def test_bad_forward_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="--forward"):
        Forwarder(url)
