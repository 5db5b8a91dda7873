"""Bearer-token auth: the requests that must pass and the ones that must not, on both transports."""

from __future__ import annotations

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from otel_feedback_collector.app import build_app
from otel_feedback_collector.app_context import AppContext
from otel_feedback_collector.otlp.auth import token_matches
from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.server import CollectorServer
from otlp_recording_store import RecordingStore

TOKEN = "s3cret-token"
PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
def guarded(start_collector, recording_store: RecordingStore) -> CollectorServer:  # type: ignore[no-untyped-def]
    return start_collector(store=recording_store, token=TOKEN)


def export(server: CollectorServer, headers: dict[str, str]) -> httpx.Response:
    body = genai_trace_request(1).SerializeToString()
    return httpx.post(f"{server.http_url}/v1/traces", content=body, headers={**PROTOBUF, **headers})


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ],
)
def test_http_without_the_right_token_gets_401(
    headers: dict[str, str], guarded: CollectorServer, recording_store: RecordingStore
) -> None:
    response = export(guarded, headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert recording_store.traces == []


def test_http_with_the_right_token_is_stored(guarded: CollectorServer, recording_store: RecordingStore) -> None:
    assert export(guarded, {"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert export(guarded, {"authorization": f"bearer {TOKEN}"}).status_code == 200
    assert len(recording_store.spans()) == 6


def test_wrong_method_is_401_before_405(guarded: CollectorServer) -> None:
    assert httpx.get(f"{guarded.http_url}/v1/traces").status_code == 401
    assert httpx.get(f"{guarded.http_url}/v1/traces", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 405


def test_health_check_needs_no_token(guarded: CollectorServer) -> None:
    response = httpx.get(f"{guarded.http_url}/healthz")
    assert (response.status_code, response.text) == (200, "ok")


@pytest.mark.parametrize("metadata", [(), (("authorization", "Bearer wrong"),)])
def test_grpc_without_the_right_token_is_unauthenticated(
    metadata: tuple[tuple[str, str], ...], guarded: CollectorServer, recording_store: RecordingStore
) -> None:
    with grpc.insecure_channel(guarded.grpc_endpoint) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Export(genai_trace_request(1), metadata=metadata, timeout=10)
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
        stub.Export(genai_trace_request(1), metadata=(("authorization", f"Bearer {TOKEN}"),), timeout=10)
    assert len(recording_store.spans()) == 3


def test_routes_added_later_inherit_the_token_rule(recording_store: RecordingStore) -> None:
    from otel_feedback_collector.otlp.ingest import ExportPipeline
    from starlette.testclient import TestClient

    async def api(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("secret data")

    pipeline = ExportPipeline(recording_store)
    context = AppContext(store=recording_store, pipeline=pipeline, data_dir=None, max_body_bytes=1000)
    app = build_app(context, token=TOKEN, extra_routes=[Route("/api/traces", api)])
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/traces").status_code == 401
        allowed = client.get("/api/traces", headers={"Authorization": f"Bearer {TOKEN}"})
        assert (allowed.status_code, allowed.text) == (200, "secret data")


def test_token_matches() -> None:
    assert token_matches(f"Bearer {TOKEN}", TOKEN)
    assert token_matches(f"  bearer   {TOKEN} ", TOKEN)
    assert not token_matches(None, TOKEN)
    assert not token_matches("Bearer", TOKEN)
    assert not token_matches(f"Bearer {TOKEN[:-1]}", TOKEN)
