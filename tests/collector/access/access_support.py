"""Helpers for the access tests: an OTLP/JSON export, an assessment write, stored span counts."""

from __future__ import annotations

import secrets

import httpx

from otel_feedback_collector.server import CollectorServer


def otlp_body(trace_id: str | None = None) -> dict[str, object]:
    """A one-span OTLP/JSON traces request (a fresh trace id unless given)."""
    span = {"traceId": trace_id or secrets.token_hex(16), "spanId": secrets.token_hex(8), "name": "chat",
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000"}
    return {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}


def export(server: CollectorServer, *, headers: dict[str, str] | None = None,
           trace_id: str | None = None) -> httpx.Response:
    """POST one span to /v1/traces as OTLP/JSON."""
    return httpx.post(f"{server.http_url}/v1/traces", json=otlp_body(trace_id), headers=headers or {}, timeout=10)


def span_count(server: CollectorServer) -> int:
    """How many spans the store holds (flushed first)."""
    server.store.flush()
    connection = server.store.connect()
    try:
        return int(connection.execute("SELECT count(*) FROM spans").fetchone()[0])
    finally:
        connection.close()


def write_assessment(server: CollectorServer, trace_id: str, *, headers: dict[str, str] | None = None) -> httpx.Response:
    """POST a feedback assessment on ``trace_id`` through the REST API."""
    return httpx.post(f"{server.http_url}/api/v1/traces/{trace_id}/assessments",
                      json={"name": "accuracy_score", "type": "feedback", "value": 0.5}, headers=headers or {},
                      timeout=10)
