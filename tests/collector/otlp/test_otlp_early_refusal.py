"""A full store refuses a trace export before it is decoded: the 429 costs no parsing."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.server import CollectorServer

PROTOBUF = {"Content-Type": "application/x-protobuf"}
# Not an OTLP message: decoding it answers 400.
NOT_PROTOBUF = b"\xff" * 64


def _post(server: CollectorServer, body: bytes) -> httpx.Response:
    return httpx.post(f"{server.http_url}/v1/traces", content=body, headers=PROTOBUF, timeout=30)


def test_a_full_store_answers_429_before_decoding_and_decodes_again_once_flushed(
    start_collector: Callable[..., CollectorServer],
) -> None:
    server = start_collector(grpc_port=None, flush_interval=3600, max_pending_bytes=4096, pending_wait=0)
    first = genai_trace_request(5).SerializeToString()
    assert len(first) > 4096
    assert _post(server, first).status_code == 200  # let in: nothing was waiting
    # The store is full now: the body is refused as it came, never parsed (it would be a 400).
    refused = _post(server, NOT_PROTOBUF)
    assert refused.status_code == 429
    assert "retry-after" in refused.headers
    server.store.flush()
    assert _post(server, NOT_PROTOBUF).status_code == 400
    assert _post(server, genai_trace_request(1).SerializeToString()).status_code == 200
