"""An OTLP/JSON id that is not hex rejects only its span or log record (partial success).

Real collector on loopback, real storage: the good spans of the same request are stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from otel_feedback_collector.server import CollectorServer

TRACE = "5b8efff798038103d269b633813fc60c"
SPAN = "eee19b7ec3c1b174"


def _span(name: str, **ids: Any) -> dict[str, Any]:
    return {"traceId": TRACE, "spanId": SPAN, "name": name, **ids}


def test_bad_json_ids_reject_only_their_spans(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(grpc_port=None)
    spans = [
        _span("good", spanId="0000000000000001"),
        _span("base64-trace", traceId="W47/95gDgQPSabYzgT/GDA=="),  # the proto3 JSON way
        _span("odd-span", spanId="eee19b7ec3c1b17"),
        _span("text-parent", spanId="0000000000000002", parentSpanId="parent"),
        _span("number-span", spanId=12345),
        _span(
            "bad-link",
            spanId="0000000000000003",
            links=[{"traceId": TRACE, "spanId": "zz"}],
        ),
        _span("good-upper", spanId="00000000000000AB", parentSpanId="0000000000000001"),
    ]
    body = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    response = httpx.post(f"{server.http_url}/v1/traces", json=body, timeout=30)
    assert response.status_code == 200, response.text
    partial = response.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 5
    message = partial["errorMessage"]
    assert "'W47/95gDgQPSabYzgT/GDA==' (not hex" in message
    assert "'eee19b7ec3c1b17' (not hex" in message
    assert "(and 2 more)" in message
    server.store.flush()
    connection = server.store.connect()
    try:
        stored = connection.execute("SELECT name, span_id FROM spans ORDER BY name").fetchall()
    finally:
        connection.close()
    assert stored == [("good", "0000000000000001"), ("good-upper", "00000000000000ab")]


def test_bad_json_ids_reject_only_their_log_records(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(grpc_port=None)
    evaluation = {
        "eventName": "gen_ai.evaluation.result",
        "attributes": [{"key": "gen_ai.evaluation.name", "value": {"stringValue": "relevance"}}],
    }
    records = [
        {**evaluation, "traceId": TRACE, "spanId": SPAN},
        {**evaluation, "traceId": "not hex at all", "spanId": SPAN},
    ]
    body = {"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]}
    response = httpx.post(f"{server.http_url}/v1/logs", json=body, timeout=30)
    assert response.status_code == 200, response.text
    partial = response.json()["partialSuccess"]
    assert int(partial["rejectedLogRecords"]) == 1
    assert "'not hex at all' (not hex" in partial["errorMessage"]
    server.store.flush()
    connection = server.store.connect()
    try:
        assert connection.execute("SELECT trace_id FROM assessment_log").fetchall() == [(TRACE,)]
    finally:
        connection.close()
