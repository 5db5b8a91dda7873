"""Bad input gets the stated status and error shape, nothing is stored, and strings stay data."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from api_test_support import log_rows, send_trace
from otel_feedback_collector.server import CollectorServer


def _assert_error(answer: httpx.Response, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert body["error"]["message"].strip()
    return body["error"]["message"]


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        ({"value": True}, "name must be a non-empty string"),
        ({"name": "", "value": True}, "name must be a non-empty string"),
        ({"name": {"a": 1}, "value": True}, "name must be a non-empty string"),
        ({"name": "n" * 257, "value": True}, "at most 256"),
        ({"name": "x"}, "feedback value must be given"),
        ({"name": "x", "value": None}, "feedback value must be given"),
        ({"name": "x", "value": True, "type": "opinion"}, "type must be 'feedback' or 'expectation'"),
        ({"name": "x", "value": True, "source": "HUMAN"}, "source must be an object"),
        ({"name": "x", "value": True, "source": {"source_type": "ROBOT", "source_id": "r"}}, "source_type must be one of"),
        ({"name": "x", "value": True, "source": {"source_type": "HUMAN", "source_id": ""}}, "source_id must be a non-empty"),
        ({"name": "x", "value": True, "source": {"source_type": "HUMAN", "source_id": 5}}, "source_id must be a non-empty"),
        ({"name": "x", "value": True, "source": {"source_type": "HUMAN", "source_id": "a", "x": 1}}, "unknown fields"),
        ({"name": "x", "value": True, "span_id": "xyz"}, "span_id must be 16 hex characters"),
        ({"name": "x", "value": True, "metadata": ["a"]}, "metadata must be a dict"),
        ({"name": "x", "value": True, "rationale": {"text": "no"}}, "rationale must be a string"),
        ({"name": "x", "value": True, "error": 3}, "error must be a non-empty string"),
        ({"name": "x", "value": True, "assessment_id": "has space"}, "assessment_id must be"),
        ({"name": "x", "value": True, "assessment_id": 12}, "assessment_id must be"),
        ({"name": "x", "type": "expectation"}, "an expectation needs a value"),
        ({"name": "x", "type": "expectation", "value": "v", "error": "e"}, "error is only for feedback"),
        ({"name": "x", "value": True, "colour": "red"}, "Unknown field"),
    ],
)
def test_create_with_bad_values_is_422(
    collector: CollectorServer, client: httpx.Client, body: dict[str, Any], message_part: str
) -> None:
    sent = send_trace(collector)
    message = _assert_error(client.post(f"/traces/{sent.trace_id}/assessments", json=body), 422, "UNPROCESSABLE")
    assert message_part in message
    assert log_rows(collector) == []


def test_infinite_number_is_422(collector: CollectorServer, client: httpx.Client) -> None:
    sent = send_trace(collector)
    answer = client.post(
        f"/traces/{sent.trace_id}/assessments",
        content=b'{"name": "x", "value": 1e999}',
        headers={"Content-Type": "application/json"},
    )
    assert "plain JSON" in _assert_error(answer, 422, "UNPROCESSABLE")


def test_override_with_bad_value_is_422(collector: CollectorServer, client: httpx.Client) -> None:
    sent = send_trace(collector)
    first = client.post(f"/traces/{sent.trace_id}/assessments", json={"name": "x", "value": 1}).json()
    url = f"/traces/{sent.trace_id}/assessments/{first['assessment_id']}/override"
    assert "needs the new value" in _assert_error(client.post(url, json={"rationale": "r"}), 422, "UNPROCESSABLE")
    assert "feedback value" in _assert_error(client.post(url, json={"value": None}), 422, "UNPROCESSABLE")
    assert "Unknown field" in _assert_error(client.post(url, json={"value": 1, "name": "y"}), 422, "UNPROCESSABLE")
    assert len(log_rows(collector)) == 1


def test_body_that_is_not_an_object_is_422(collector: CollectorServer, client: httpx.Client) -> None:
    sent = send_trace(collector)
    _assert_error(client.post(f"/traces/{sent.trace_id}/assessments", json=[1, 2]), 422, "UNPROCESSABLE")


@pytest.mark.parametrize("raw", [b"{not json", b'{"name": "x", "value": NaN}', b"\xff\xfe", b""])
def test_malformed_json_is_400(collector: CollectorServer, client: httpx.Client, raw: bytes) -> None:
    sent = send_trace(collector)
    answer = client.post(
        f"/traces/{sent.trace_id}/assessments", content=raw, headers={"Content-Type": "application/json"}
    )
    _assert_error(answer, 400, "BAD_REQUEST")


def test_non_json_content_type_is_415(collector: CollectorServer, client: httpx.Client) -> None:
    sent = send_trace(collector)
    answer = client.post(
        f"/traces/{sent.trace_id}/assessments",
        content=json.dumps({"name": "x", "value": True}),
        headers={"Content-Type": "text/plain"},
    )
    assert "application/json" in _assert_error(answer, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert log_rows(collector) == []


def test_huge_body_is_413(collector: CollectorServer, client: httpx.Client) -> None:
    sent = send_trace(collector)
    body = {"name": "x", "value": True, "rationale": "a" * (1024 * 1024 + 1)}
    _assert_error(client.post(f"/traces/{sent.trace_id}/assessments", json=body), 413, "PAYLOAD_TOO_LARGE")

    def chunks():  # no Content-Length: the cap holds while streaming too
        yield b'{"name": "x", "value": true, "rationale": "'
        for _ in range(20):
            yield b"a" * 65536
        yield b'"}'

    streamed = client.post(
        f"/traces/{sent.trace_id}/assessments", content=chunks(), headers={"Content-Type": "application/json"}
    )
    _assert_error(streamed, 413, "PAYLOAD_TOO_LARGE")
    assert log_rows(collector) == []


def test_bad_query_parameters_are_400(collector: CollectorServer, client: httpx.Client) -> None:
    sent = send_trace(collector)
    _assert_error(client.get(f"/traces/{sent.trace_id}/assessments", params={"history": "maybe"}), 400, "BAD_REQUEST")
    _assert_error(client.get("/traces", params={"max_results": "many"}), 400, "BAD_REQUEST")
    _assert_error(client.get("/traces", params={"max_results": "0"}), 400, "BAD_REQUEST")
    _assert_error(client.get("/traces", params={"colour": "red"}), 400, "BAD_REQUEST")
    _assert_error(client.get("/traces", params={"filter": "assessments.x = = 1"}), 400, "BAD_REQUEST")
    _assert_error(client.get("/traces", params={"page_token": "garbage"}), 400, "BAD_REQUEST")
    _assert_error(client.post("/traces/search", json={"filter": "nonsense_field = 1"}), 400, "BAD_REQUEST")
    _assert_error(client.post("/traces/search", json={"max_results": "ten"}), 400, "BAD_REQUEST")


def test_unknown_endpoint_and_method_answer_json(client: httpx.Client) -> None:
    _assert_error(client.get("/no/such/thing"), 404, "NOT_FOUND")
    _assert_error(client.put("/experiments"), 405, "METHOD_NOT_ALLOWED")


HOSTILE = [
    "<script>alert(document.cookie)</script>",
    "' OR 1=1; DROP TABLE assessment_log; --",
    '"}]} {"injected": true',
    "emoji 🙂 and RTL \u202e override and NUL-free \u0007 bell",
    "{{ 7*7 }} ${7*7} %s %(x)s",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_strings_are_stored_and_returned_as_given(
    collector: CollectorServer, client: httpx.Client, hostile: str
) -> None:
    sent = send_trace(collector)
    answer = client.post(
        f"/traces/{sent.trace_id}/assessments",
        json={"name": hostile, "value": hostile, "rationale": hostile, "metadata": {hostile: hostile},
              "source": {"source_type": "HUMAN", "source_id": hostile}},
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"
    created = answer.json()
    assert created["rationale"] == hostile and created["value"] == hostile and created["name"] == hostile
    assert created["metadata"] == {hostile: hostile} and created["source"]["source_id"] == hostile
    collector.store.flush()
    trace = client.get(f"/traces/{sent.trace_id}")
    stored = trace.json()["assessments"][0]
    assert stored == created
    # Byte-identical: the rationale's JSON encoding appears verbatim in the raw answer.
    assert json.dumps(hostile, ensure_ascii=False).encode("utf-8") in trace.content
    assert trace.json()["trace"]["assessments"] == {hostile: hostile}
    rows = log_rows(collector, "trace_id = ?", [sent.trace_id])
    assert rows[0]["rationale"] == hostile


@pytest.mark.parametrize("offset", [2**63, 2**64 + 5, 10**400], ids=["2^63", "2^64+5", "10^400"])
def test_forged_page_token_with_a_huge_offset_is_400(
    collector: CollectorServer, client: httpx.Client, offset: int
) -> None:
    # A page token is base64url JSON holding the offset and the search's fingerprint; take a real
    # one and swap in an offset no listing can have (it used to reach DuckDB's OFFSET: 500).
    send_trace(collector)
    send_trace(collector)
    token = client.get("/traces", params={"max_results": 1}).json()["next_page_token"]
    data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    data["o"] = offset
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    message = _assert_error(client.get("/traces", params={"max_results": 1, "page_token": forged}), 400, "BAD_REQUEST")
    assert "page_token" in message
