"""Read-only access on top of the write token: ``--read-token`` (reads need that token) and
``--public-read`` (reads need nothing). For reads and writes over OTLP (HTTP and gRPC), the REST
API, the UI and the review app: what must pass and what must NOT pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from collections.abc import Callable

import grpc
import httpx
import pytest
from access_support import export, span_count, write_assessment
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from otel_feedback_collector.otlp.auth import check_token_settings
from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.server import CollectorServer

WRITE, READ = "write-token-0123", "read-token-4567"
TRACE = "0123456789abcdef0123456789abcdef"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def history(server: CollectorServer) -> list[object]:
    answer = httpx.get(f"{server.http_url}/api/v1/traces/{TRACE}/assessments", params={"history": "true"},
                       headers=bearer(WRITE))
    return list(answer.json()["assessments"])


def reads(server: CollectorServer, headers: dict[str, str]) -> list[int]:
    """The statuses of a UI page, a trace page, a REST read and a search."""
    base = server.http_url
    return [
        httpx.get(f"{base}/", headers=headers).status_code,
        httpx.get(f"{base}/traces/{TRACE}", headers=headers).status_code,
        httpx.get(f"{base}/api/v1/traces/{TRACE}", headers=headers).status_code,
        httpx.post(f"{base}/api/v1/traces/search", json={"filter": "status = 'OK'"}, headers=headers).status_code,
    ]


@pytest.fixture
def read_token_collector(start_collector: Callable[..., CollectorServer]) -> CollectorServer:
    server = start_collector(token=WRITE, read_token=READ)
    assert export(server, headers=bearer(WRITE), trace_id=TRACE).status_code == 200
    return server


@pytest.fixture
def public_read_collector(start_collector: Callable[..., CollectorServer]) -> CollectorServer:
    server = start_collector(token=WRITE, public_read=True)
    assert export(server, headers=bearer(WRITE), trace_id=TRACE).status_code == 200
    return server


def test_the_read_token_reads_the_ui_and_the_api(read_token_collector: CollectorServer) -> None:
    assert reads(read_token_collector, bearer(READ)) == [200, 200, 200, 200]
    assert reads(read_token_collector, bearer(WRITE)) == [200, 200, 200, 200]


def test_reads_without_a_token_or_with_a_wrong_one_are_refused(read_token_collector: CollectorServer) -> None:
    assert reads(read_token_collector, {}) == [401, 401, 401, 401]
    assert reads(read_token_collector, bearer(READ + "x")) == [401, 401, 401, 401]
    answer = httpx.get(f"{read_token_collector.http_url}/api/v1/traces/{TRACE}")
    assert "the read token is enough for reads" in answer.json()["message"]


def test_the_read_token_cannot_write_over_rest_otlp_or_grpc(read_token_collector: CollectorServer) -> None:
    server = read_token_collector
    refused = write_assessment(server, TRACE, headers=bearer(READ))
    assert refused.status_code == 403 and "read-only token" in refused.json()["message"]
    assert export(server, headers=bearer(READ)).status_code == 403
    assert httpx.delete(f"{server.http_url}/api/v1/labeling-sessions/x", headers=bearer(READ)).status_code == 403
    assert server.grpc_endpoint is not None
    with grpc.insecure_channel(server.grpc_endpoint) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Export(genai_trace_request(1), metadata=(("authorization", f"Bearer {READ}"),), timeout=10)
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
        stub.Export(genai_trace_request(1), metadata=(("authorization", f"Bearer {WRITE}"),), timeout=10)
    assert history(server) == []
    assert span_count(server) == 1 + 3  # the fixture's span and the gRPC export with the write token
    assert write_assessment(server, TRACE, headers=bearer(WRITE)).status_code == 201
    assert export(server, headers=bearer(WRITE)).status_code == 200


def test_public_read_opens_reads_to_everyone(public_read_collector: CollectorServer) -> None:
    assert reads(public_read_collector, {}) == [200, 200, 200, 200]
    assert httpx.get(f"{public_read_collector.http_url}/review/signin").status_code == 200


def test_public_read_still_needs_the_write_token_for_writes(public_read_collector: CollectorServer) -> None:
    server = public_read_collector
    refused = write_assessment(server, TRACE, headers={"Origin": server.http_url})  # the UI's own edit button
    assert refused.status_code == 401 and "reads need no token here" in refused.json()["message"]
    assert write_assessment(server, TRACE, headers=bearer("guess")).status_code == 401
    assert export(server).status_code == 401
    assert httpx.put(f"{server.http_url}/api/v1/labeling-sessions/x/assigned-users", json=[]).status_code == 401
    assert history(server) == [] and span_count(server) == 1
    assert write_assessment(server, TRACE, headers=bearer(WRITE)).status_code == 201
    assert export(server, headers=bearer(WRITE)).status_code == 200


def test_inconsistent_settings_are_refused_with_what_to_change() -> None:
    with pytest.raises(ValueError, match="need --token"):
        check_token_settings(None, READ, False)
    with pytest.raises(ValueError, match="need --token"):
        check_token_settings(None, None, True)
    with pytest.raises(ValueError, match="only one of them"):
        check_token_settings(WRITE, READ, True)
    with pytest.raises(ValueError, match="must differ"):
        check_token_settings(WRITE, WRITE, False)
    check_token_settings(WRITE, READ, False)
    check_token_settings(None, None, False)


def test_serve_refuses_public_read_without_a_token(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "otel_feedback.cli", "serve", "--data", str(tmp_path / "d"), "--port", "0",
         "--public-read"],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2 and "need --token" in result.stderr
