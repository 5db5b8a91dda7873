"""A REST or review-form body that stalls gets 408 within the body-read timeout and frees the
connection, like OTLP's; the collector keeps serving and nothing is stored."""

from __future__ import annotations

import socket

import httpx
import pytest

from otel_feedback_collector.server import CollectorServer

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


def _stall(server: CollectorServer, path: str, content_type: str, start: bytes) -> bytes:
    """Send the head and the start of a 5,000-byte body, then nothing; return the answer."""
    host, port = server.http_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port))) as connection:
        connection.settimeout(10)
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            "Content-Length: 5000\r\n\r\n".encode() + start
        )
        answer = b""
        while b"did not arrive" not in answer:
            try:
                chunk = connection.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            answer += chunk
    return answer


@pytest.mark.parametrize(
    "path",
    [f"/api/v1/traces/{TRACE_ID}/assessments", "/api/v1/label-schemas", "/api/v1/traces/search"],
)
def test_a_stalled_json_body_gets_408(start_collector, path: str) -> None:  # type: ignore[no-untyped-def]
    server: CollectorServer = start_collector(body_read_timeout=0.3)

    answer = _stall(server, path, "application/json", b'{"name": ')

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"REQUEST_TIMEOUT" in body and b"did not arrive within 0.3 s" in body
    with httpx.Client(base_url=server.http_url, timeout=10) as client:  # still serving, nothing stored
        schemas = client.get("/api/v1/label-schemas")
        assert {schema["name"] for schema in schemas.json()["label_schemas"]} == {  # the built-in three only
            "expected_facts", "expected_response", "guidelines"}
        assert client.post("/api/v1/traces/search", json={}).json()["traces"] == []


def test_a_stalled_review_form_gets_408(start_collector) -> None:  # type: ignore[no-untyped-def]
    server: CollectorServer = start_collector(body_read_timeout=0.3)
    answer = _stall(server, "/review/signin", "application/x-www-form-urlencoded", b"name=alice&pass")
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"did not arrive within 0.3 s" in answer
