"""A REST body that stalls gets 408 within the body-read timeout and frees the connection, like
OTLP's; the collector keeps serving and nothing is stored."""

from __future__ import annotations

import socket

import httpx
import pytest

from otel_feedback_collector.server import CollectorServer

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


@pytest.mark.parametrize(
    "path",
    [f"/api/v1/traces/{TRACE_ID}/assessments", "/api/v1/label-schemas", "/api/v1/traces/search"],
)
def test_a_stalled_json_body_gets_408(start_collector, path: str) -> None:  # type: ignore[no-untyped-def]
    server: CollectorServer = start_collector(body_read_timeout=0.3)
    host, port = server.http_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port))) as connection:
        connection.settimeout(10)
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 5000\r\n\r\n{\"name\": ".encode()
        )
        answer = b""
        while b"}}" not in answer:  # the JSON error ends the answer
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"REQUEST_TIMEOUT" in body and b"did not arrive within 0.3 s" in body
    with httpx.Client(base_url=server.http_url, timeout=10) as client:  # still serving, nothing stored
        schemas = client.get("/api/v1/label-schemas")
        assert {schema["name"] for schema in schemas.json()["label_schemas"]} == {  # the built-in three only
            "expected_facts", "expected_response", "guidelines"}
        assert client.post("/api/v1/traces/search", json={}).json()["traces"] == []
