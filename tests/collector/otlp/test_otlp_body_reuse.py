"""The store keeps the protobuf body as received when validation removed nothing, and a fresh
encoding of the kept spans when it removed some (real receiver on loopback, recording store)."""

from __future__ import annotations

import httpx

from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.server import CollectorServer
from otlp_recording_store import RecordingStore

_PROTOBUF = {"Content-Type": "application/x-protobuf"}


def test_a_valid_protobuf_body_reaches_the_store_as_received(
    recording_collector: CollectorServer, recording_store: RecordingStore
) -> None:
    body = genai_trace_request(5).SerializeToString()
    response = httpx.post(f"{recording_collector.http_url}/v1/traces", content=body, headers=_PROTOBUF, timeout=30)
    assert response.status_code == 200, response.text
    assert recording_store.serialized == [body]
    assert len(recording_store.spans()) == 15


def test_a_body_with_rejected_spans_is_not_stored_as_received(
    recording_collector: CollectorServer, recording_store: RecordingStore
) -> None:
    request = genai_trace_request(2)
    request.resource_spans[0].scope_spans[0].spans[0].trace_id = b"\x00" * 16  # rejected
    response = httpx.post(
        f"{recording_collector.http_url}/v1/traces", content=request.SerializeToString(), headers=_PROTOBUF, timeout=30
    )
    assert response.status_code == 200, response.text
    assert recording_store.serialized == [None]  # the store encodes the 5 kept spans itself
    assert len(recording_store.spans()) == 5


def test_json_bodies_are_encoded_by_the_store(
    recording_collector: CollectorServer, recording_store: RecordingStore
) -> None:
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "a"}]}]}]}
    response = httpx.post(f"{recording_collector.http_url}/v1/traces", json=body, timeout=30)
    assert response.status_code == 200, response.text
    assert recording_store.serialized == [None]
    assert len(recording_store.spans()) == 1
