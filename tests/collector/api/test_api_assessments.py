"""Create, list, override and delete assessments through the REST API, against a real collector."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import httpx

from api_test_support import SentTrace, current_rows, log_rows, send_trace
from otel_feedback_collector.server import CollectorServer

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _without_generated(assessment: dict) -> dict:
    """The object minus the server-made id and time, which are checked separately."""
    assert TIME.match(assessment["create_time"]), assessment["create_time"]
    assert re.match(r"^[0-9a-f]{32}$", assessment["assessment_id"]) or assessment["assessment_id"]
    return {k: v for k, v in assessment.items() if k not in ("assessment_id", "create_time")}


def test_create_answers_the_exact_assessment_and_lists_it(collector: CollectorServer, client: httpx.Client) -> None:
    sent = send_trace(collector)
    answer = client.post(
        f"/traces/{sent.trace_id}/assessments",
        json={
            "name": "user_feedback",
            "type": "feedback",
            "value": False,
            "rationale": "The answer missed the point.",
            "source": {"source_type": "HUMAN", "source_id": "enduser_123"},
        },
    )
    assert answer.status_code == 201
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    created = answer.json()
    assert _without_generated(created) == {
        "trace_id": sent.trace_id,
        "span_id": None,
        "name": "user_feedback",
        "type": "feedback",
        "value": False,
        "rationale": "The answer missed the point.",
        "source": {"source_type": "HUMAN", "source_id": "enduser_123"},
        "metadata": {},
        "error": None,
        "overrides": None,
        "action": "create",
    }
    # Read-your-writes: listed at once, before any flush.
    listed = client.get(f"/traces/{sent.trace_id}/assessments")
    assert listed.status_code == 200
    assert listed.json() == {"assessments": [created]}
    # And the same object after it is in Parquet.
    rows = log_rows(collector, "trace_id = ?", [sent.trace_id])
    assert [(r["assessment_id"], r["value"], r["source_id"], r["score_label"]) for r in rows] == [
        (created["assessment_id"], "false", "enduser_123", "false")
    ]
    assert client.get(f"/traces/{sent.trace_id}/assessments").json() == {"assessments": [created]}


def test_span_expectation_with_metadata_round_trips(collector: CollectorServer, client: httpx.Client) -> None:
    sent = send_trace(collector)
    value = {"facts": ["open source", "platform"], "score": 0.75, "nested": {"ok": True}}
    created = client.post(
        f"/traces/{sent.trace_id}/assessments",
        json={
            "name": "expected_response",
            "type": "expectation",
            "value": value,
            "span_id": sent.llm_span_id.upper(),
            "metadata": {"reviewer_team": "docs", "round": 2},
            "source": {"source_type": "human", "source_id": "expert_1"},
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["span_id"] == sent.llm_span_id
    assert body["value"] == value
    assert body["metadata"] == {"reviewer_team": "docs", "round": 2}
    assert body["source"] == {"source_type": "HUMAN", "source_id": "expert_1"}
    collector.store.flush()
    assert client.get(f"/traces/{sent.trace_id}/assessments").json()["assessments"] == [body]


def test_feedback_with_error_and_no_value(collector: CollectorServer, client: httpx.Client) -> None:
    sent = send_trace(collector)
    created = client.post(
        f"/traces/{sent.trace_id}/assessments",
        json={"name": "judge", "error": "TimeoutError: the judge did not answer", "source": {"source_type": "LLM_JUDGE", "source_id": "gpt-judge"}},
    )
    assert created.status_code == 201, created.text
    assert created.json()["value"] is None
    assert created.json()["error"] == "TimeoutError: the judge did not answer"


def test_override_then_delete_keeps_history(collector: CollectorServer, client: httpx.Client) -> None:
    sent = send_trace(collector)
    first = client.post(
        f"/traces/{sent.trace_id}/assessments", json={"name": "accuracy_score", "value": 0.75, "span_id": sent.root_span_id}
    ).json()
    override = client.post(
        f"/traces/{sent.trace_id}/assessments/{first['assessment_id']}/override",
        json={"value": 0.25, "rationale": "Re-read it.", "source": {"source_type": "HUMAN", "source_id": "dev_1"}},
    )
    assert override.status_code == 201, override.text
    second = override.json()
    assert _without_generated(second) == {
        "trace_id": sent.trace_id,
        "span_id": sent.root_span_id,
        "name": "accuracy_score",
        "type": "feedback",
        "value": 0.25,
        "rationale": "Re-read it.",
        "source": {"source_type": "HUMAN", "source_id": "dev_1"},
        "metadata": {},
        "error": None,
        "overrides": first["assessment_id"],
        "action": "override",
    }
    assert second["assessment_id"] != first["assessment_id"]
    assert client.get(f"/traces/{sent.trace_id}/assessments").json() == {"assessments": [second]}
    # The overridden one can no longer be overridden or deleted.
    again = client.post(f"/traces/{sent.trace_id}/assessments/{first['assessment_id']}/override", json={"value": 1.0})
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "NOT_FOUND"
    assert second["assessment_id"] in again.json()["error"]["message"]

    deleted = client.request(
        "DELETE",
        f"/traces/{sent.trace_id}/assessments/{second['assessment_id']}",
        json={"source": {"source_type": "HUMAN", "source_id": "dev_2"}},
    )
    assert deleted.status_code == 200, deleted.text
    delete_row = deleted.json()
    assert _without_generated(delete_row) == {
        "trace_id": sent.trace_id,
        "span_id": sent.root_span_id,
        "name": "accuracy_score",
        "type": "feedback",
        "value": None,
        "rationale": None,
        "source": {"source_type": "HUMAN", "source_id": "dev_2"},
        "metadata": {},
        "error": None,
        "overrides": second["assessment_id"],
        "action": "delete",
    }
    assert client.get(f"/traces/{sent.trace_id}/assessments").json() == {"assessments": []}
    history = client.get(f"/traces/{sent.trace_id}/assessments", params={"history": "true"}).json()["assessments"]
    assert history == [first, second, delete_row]
    # Deleting twice is a 404, and nothing more is written.
    assert client.delete(f"/traces/{sent.trace_id}/assessments/{second['assessment_id']}").status_code == 404
    rows = log_rows(collector, "trace_id = ?", [sent.trace_id])
    assert [r["action"] for r in rows] == ["create", "override", "delete"]
    assert current_rows(collector, sent.trace_id) == []
    # After the flush the API answers the same history from Parquet.
    assert client.get(f"/traces/{sent.trace_id}/assessments?history=1").json()["assessments"] == history


def test_api_current_state_matches_the_assessments_view(collector: CollectorServer, client: httpx.Client) -> None:
    sent = send_trace(collector)
    ids = []
    for value in (True, False, True):
        ids.append(client.post(f"/traces/{sent.trace_id}/assessments", json={"name": "thumbs", "value": value}).json()["assessment_id"])
    client.post(f"/traces/{sent.trace_id}/assessments/{ids[0]}/override", json={"value": False})
    client.delete(f"/traces/{sent.trace_id}/assessments/{ids[1]}")
    api_current = {a["assessment_id"] for a in client.get(f"/traces/{sent.trace_id}/assessments").json()["assessments"]}
    view_current = {row["assessment_id"] for row in current_rows(collector, sent.trace_id)}
    assert api_current == view_current
    assert len(api_current) == 2


def test_idempotent_replay_is_stored_once(
    start_collector: Callable[..., CollectorServer], tmp_path
) -> None:
    data_dir = tmp_path / "replay"
    server = start_collector(data_dir=data_dir)
    sent = send_trace(server)
    body = {"name": "user_feedback", "value": True, "assessment_id": str(uuid.uuid4())}
    with httpx.Client(base_url=f"{server.http_url}/api/v1", timeout=30) as http:
        first = http.post(f"/traces/{sent.trace_id}/assessments", json=body)
        replay = http.post(f"/traces/{sent.trace_id}/assessments", json=body)
        assert (first.status_code, replay.status_code) == (201, 200)
        assert replay.json() == first.json()
        assert replay.content == first.content
        # A replay with the id on another trace is refused, not stored.
        other = send_trace(server)
        clash = http.post(f"/traces/{other.trace_id}/assessments", json=body)
        assert clash.status_code == 422
        assert "already used" in clash.json()["error"]["message"]
    assert len(log_rows(server, "assessment_id = ?", [body["assessment_id"]])) == 1
    server.stop()
    # A new collector process on the same data: the replay is found in Parquet.
    restarted = start_collector(data_dir=data_dir)
    with httpx.Client(base_url=f"{restarted.http_url}/api/v1", timeout=30) as http:
        late = http.post(f"/traces/{sent.trace_id}/assessments", json=body)
    assert late.status_code == 200
    assert late.json() == first.json()
    assert len(log_rows(restarted, "assessment_id = ?", [body["assessment_id"]])) == 1


def test_unknown_trace_span_and_assessment_are_404(collector: CollectorServer, client: httpx.Client) -> None:
    sent = send_trace(collector)
    unknown_trace = uuid.uuid4().hex
    answer = client.post(f"/traces/{unknown_trace}/assessments", json={"name": "x", "value": 1})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "NOT_FOUND"
    assert "retry" in answer.json()["error"]["message"]
    assert client.get(f"/traces/{unknown_trace}").status_code == 404
    assert client.get(f"/traces/{unknown_trace}/assessments").status_code == 404
    assert client.get("/traces/not-a-trace-id").status_code == 404

    wrong_span = client.post(
        f"/traces/{sent.trace_id}/assessments", json={"name": "x", "value": 1, "span_id": "00000000000000aa"}
    )
    assert wrong_span.status_code == 404
    assert "no span" in wrong_span.json()["error"]["message"]

    missing = uuid.uuid4().hex
    assert client.post(f"/traces/{sent.trace_id}/assessments/{missing}/override", json={"value": 1}).status_code == 404
    assert client.delete(f"/traces/{sent.trace_id}/assessments/{missing}").status_code == 404
    # An assessment of another trace is not found under this one.
    other = send_trace(collector)
    theirs = client.post(f"/traces/{other.trace_id}/assessments", json={"name": "x", "value": 1}).json()
    assert client.delete(f"/traces/{sent.trace_id}/assessments/{theirs['assessment_id']}").status_code == 404
    assert log_rows(collector, "trace_id = ?", [sent.trace_id]) == []


def test_trace_acknowledged_but_not_flushed_is_known(start_collector: Callable[..., CollectorServer]) -> None:
    # A flush interval far longer than the test: the spans sit in the write-ahead log only.
    server = start_collector(flush_interval=3600)
    sent: SentTrace = send_trace(server, flush=False)
    with httpx.Client(base_url=f"{server.http_url}/api/v1", timeout=30) as http:
        answer = http.post(
            f"/traces/{sent.trace_id}/assessments",
            json={"name": "user_feedback", "value": False, "span_id": sent.llm_span_id},
        )
        assert answer.status_code == 201, answer.text
        assert http.get(f"/traces/{sent.trace_id}").json()["trace"]["assessments"] == {"user_feedback": False}
