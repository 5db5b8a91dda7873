"""Deeply nested JSON in a span or an assessment is kept as text and every read still answers.

The trigger: an ``input.value`` of 50,000 ``[`` was accepted, then every listing including
the trace answered 500 (``RecursionError``). Each read is exercised on a real collector.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from otel_feedback_collector.catalog import CatalogDatabase
from otel_feedback_collector.catalog.users import add_user
from otel_feedback_collector.query.search import search_traces
from otel_feedback_collector.server import CollectorServer
from otel_feedback_collector.storage import connect
from otel_feedback_core.json_text import MAX_JSON_DEPTH, decode_json_text, json_depth, parse_json_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "labeling"))
from review_support import sign_in  # noqa: E402

TRACE = "0123456789abcdef0123456789abcdef"
DEEP = "[" * 50_000
DEEP_CLOSED = "[" * 500 + "]" * 500  # valid JSON, parseable by json, but too deep to keep
DEEP_MESSAGES = "{" * 50_000


def test_parse_and_decode_bound_the_depth() -> None:
    shallow = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert json_depth(parse_json_text(shallow)) == MAX_JSON_DEPTH
    for deep in (DEEP, DEEP_CLOSED, "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)):
        with pytest.raises(ValueError, match="deeper than"):
            parse_json_text(deep)
        assert decode_json_text(deep) == deep
    assert decode_json_text('{"a": [1, 2]}') == {"a": [1, 2]}
    assert decode_json_text("plain text") == "plain text"
    # Python's json reads these as floats no JSON answer can carry: they stay text.
    for text in ("NaN", "Infinity", "-Infinity", "1e400", '{"a": [NaN]}', "[-1e999]"):
        assert decode_json_text(text) == text
    assert decode_json_text("1e30") == 1e30
    assert decode_json_text(None) is None


def _attribute(key: str, text: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": text}}


def test_every_read_answers_with_a_deeply_nested_input(
    start_collector: Callable[..., CollectorServer], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    add_user(CatalogDatabase(data_dir), "alice", password="Expert-review-pw-7")
    server = start_collector(data_dir=data_dir, grpc_port=None)
    span = {
        "traceId": TRACE,
        "spanId": "0123456789abcdef",
        "name": "root",
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000001000000000",
        "attributes": [
            _attribute("input.value", DEEP),
            _attribute("output.value", DEEP_CLOSED),
            _attribute("mlflow.spanType", DEEP),
            _attribute("langfuse.observation.usage_details", DEEP_MESSAGES),
        ],
        "events": [
            {
                "name": "gen_ai.evaluation.result",
                "timeUnixNano": "1700000000500000000",
                "attributes": [
                    _attribute("gen_ai.evaluation.name", "depth"),
                    _attribute("otel_feedback.assessment.value", DEEP),
                    _attribute("otel_feedback.assessment.metadata", DEEP_MESSAGES),
                ],
            }
        ],
    }
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    assert httpx.post(f"{server.http_url}/v1/traces", json=body, timeout=30).status_code == 200
    server.store.flush()
    assert server.store.quarantined_records == 0  # stored, not set aside

    with httpx.Client(base_url=server.http_url, timeout=60) as client:
        listing = client.get("/api/v1/traces")
        assert listing.status_code == 200, listing.text
        [summary] = listing.json()["traces"]
        assert summary["request"] == DEEP
        assert summary["assessments"]["depth"] == DEEP
        detail = client.get(f"/api/v1/traces/{TRACE}")
        assert detail.status_code == 200, detail.text
        found = client.post("/api/v1/traces/search", json={})
        assert found.status_code == 200, found.text
        assert found.json()["traces"][0]["response"] == DEEP_CLOSED
        filtered = client.post("/api/v1/traces/search", json={"filter": "assessments.depth IS NOT NULL"})
        assert filtered.status_code == 200, filtered.text

        schema = {"name": "ok", "type": "feedback", "title": "OK?",
                  "input": {"type": "categorical", "options": ["yes", "no"]}}
        assert client.post("/api/v1/label-schemas", json=schema).status_code == 201
        session = client.post("/api/v1/labeling-sessions",
                              json={"name": "deep", "label_schemas": ["ok"], "assigned_users": ["alice"]}).json()
        added = client.post(f"/api/v1/labeling-sessions/{session['id']}/items", json={"trace_ids": [TRACE]})
        assert added.status_code == 200, added.text
        traces = client.get(f"/api/v1/labeling-sessions/{session['id']}/traces")
        assert traces.status_code == 200, traces.text

    alice = sign_in(server.http_url, "alice", "Expert-review-pw-7")
    try:
        item = alice.get(f"/review/sessions/{session['id']}/items/1")
        assert item.status_code == 200, item.text
    finally:
        alice.close()

    connection = connect(data_dir)
    try:
        table, _ = search_traces(connection)
    finally:
        connection.close()
    assert table.column("request").to_pylist() == [DEEP]


def test_rest_bodies_nested_too_deeply_are_refused_with_400(
    start_collector: Callable[..., CollectorServer],
) -> None:
    server = start_collector(grpc_port=None)
    for value in (DEEP, DEEP_CLOSED):
        body = '{"name": "n", "value": ' + value + "}"
        answer = httpx.post(
            f"{server.http_url}/api/v1/traces/{TRACE}/assessments",
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert answer.status_code == 400, answer.text
        assert "deeper than" in json.dumps(answer.json())
