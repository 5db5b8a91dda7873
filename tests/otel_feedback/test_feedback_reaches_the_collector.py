"""Feedback logged later, from another process that holds only the trace id, against our collector.

The app traces a call and exits; seconds later a second interpreter (a web backend that
received a thumbs-down) sends feedback, an expectation, an override and a delete over OTLP
logs, HTTP or gRPC. The assessments land in the SQL ``assessments`` view with every field as
sent, and the trace's duration and span count (``traces`` view and REST) do not change.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from app_process import run_app
from collector_session import wait_for

from otel_feedback_collector.server import CollectorServer
from otel_feedback_collector.storage import connect

APP = """
import json, otel_feedback
from otel_feedback import trace
otel_feedback.configure({url!r}, service_name="chat-app")

@trace(span_type="RETRIEVER")
def retrieve(question):
    return ["doc"]

@trace
def chatbot(question):
    return retrieve(question)[0]

chatbot("q")
print(json.dumps({{"trace_id": otel_feedback.get_last_active_trace_id(), "flushed": otel_feedback.flush(10_000)}}))
"""

BACKEND = """
import json, otel_feedback
from otel_feedback import AssessmentSource
otel_feedback.configure({url!r}, service_name="web-backend", protocol={protocol!r})
trace_id = {trace_id!r}
thumbs = otel_feedback.log_feedback(trace_id=trace_id, name="user_feedback", value=False, rationale="off topic",
                                    source=AssessmentSource("HUMAN", "enduser_7"), metadata={{"page": "chat"}})
score = otel_feedback.log_feedback(trace_id=trace_id, span_id={span_id!r}, name="relevance", value=0.25,
                                   source=AssessmentSource("LLM_JUDGE", "relevance-judge"))
expected = otel_feedback.log_expectation(trace_id=trace_id, name="expected_facts",
                                         value=["a", {{"b": [1, 2.5, None]}}])
fixed = otel_feedback.override_feedback(trace_id=trace_id, assessment_id=thumbs.assessment_id, name="user_feedback",
                                        value=True, rationale="on second look",
                                        source=AssessmentSource("HUMAN", "reviewer_1"))
otel_feedback.delete_assessment(trace_id=trace_id, assessment_id=score.assessment_id, name="relevance",
                                span_id={span_id!r})
print(json.dumps({{"flushed": otel_feedback.flush(10_000), "thumbs": thumbs.assessment_id,
                   "score": score.assessment_id, "expected": expected.assessment_id, "fixed": fixed.assessment_id}}))
"""


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorServer]:
    with CollectorServer(tmp_path / "data", port=0, grpc_port=0, flush_interval=0.2) as server:
        yield server


def _trace_shape(collector: CollectorServer, trace_id: str) -> tuple:
    collector.store.flush()
    connection = connect(collector.data_dir)
    try:
        row = connection.execute(
            "SELECT start_time, end_time, duration_ms, span_count FROM traces WHERE trace_id = ?", [trace_id]
        ).fetchone()
        spans = connection.execute("SELECT count(*) FROM spans WHERE trace_id = ?", [trace_id]).fetchone()[0]
    finally:
        connection.close()
    rest = httpx.get(f"{collector.http_url}/api/v1/traces/{trace_id}", timeout=10).json()
    return row, spans, rest["trace"]["duration_ms"], rest["trace"]["span_count"], len(rest["spans"])


def _assessments(collector: CollectorServer, trace_id: str, view: str) -> dict[str, dict]:
    collector.store.flush()
    connection = connect(collector.data_dir)
    try:
        relation = connection.execute(f"SELECT * FROM {view} WHERE trace_id = ?", [trace_id])
        columns = [d[0] for d in relation.description]
        return {row[0]: dict(zip(columns, row)) for row in relation.fetchall()}
    finally:
        connection.close()


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_feedback_from_another_process_lands_and_leaves_the_trace_alone(collector: CollectorServer, protocol: str):
    app = run_app(APP.format(url=collector.http_url))
    assert app["flushed"] is True
    trace_id = app["trace_id"]
    wait_for(lambda: _trace_shape(collector, trace_id)[0], what="the app's trace")
    before = _trace_shape(collector, trace_id)
    assert before[1] == before[3] == before[4] == 2  # chatbot and retrieve
    connection = connect(collector.data_dir)
    try:
        span_id = connection.execute(
            "SELECT span_id FROM spans WHERE trace_id = ? AND name = 'retrieve'", [trace_id]
        ).fetchone()[0]
    finally:
        connection.close()

    time.sleep(2)  # "seconds later": the old carrier spans stretched the trace by this much
    url = collector.http_url if protocol == "http/protobuf" else collector.grpc_endpoint
    sent = run_app(BACKEND.format(url=url, protocol=protocol, trace_id=trace_id, span_id=span_id))
    assert sent["flushed"] is True

    log = wait_for(lambda: (rows := _assessments(collector, trace_id, "assessment_log")) and len(rows) == 5 and rows,
                   what="five rows in the assessment log")
    current = _assessments(collector, trace_id, "assessments")
    assert set(current) == {sent["expected"], sent["fixed"]}

    thumbs = log[sent["thumbs"]]
    assert (thumbs["name"], thumbs["type"], thumbs["action"], json.loads(thumbs["value"])) == (
        "user_feedback", "feedback", "create", False)
    assert (thumbs["rationale"], thumbs["source_type"], thumbs["source_id"]) == ("off topic", "HUMAN", "enduser_7")
    assert json.loads(thumbs["metadata"]) == {"page": "chat"}
    assert thumbs["span_id"] is None

    score = log[sent["score"]]
    assert (score["span_id"], score["score_value"], score["source_type"], score["source_id"]) == (
        span_id, 0.25, "LLM_JUDGE", "relevance-judge")

    expected = current[sent["expected"]]
    assert expected["type"] == "expectation"
    assert json.loads(expected["value"]) == ["a", {"b": [1, 2.5, None]}]

    fixed = current[sent["fixed"]]
    assert (fixed["action"], fixed["overrides"], json.loads(fixed["value"]), fixed["rationale"]) == (
        "override", sent["thumbs"], True, "on second look")
    assert (fixed["source_type"], fixed["source_id"]) == ("HUMAN", "reviewer_1")

    [deletion] = [row for row in log.values() if row["action"] == "delete"]
    assert (deletion["overrides"], deletion["name"], deletion["span_id"]) == (sent["score"], "relevance", span_id)

    # The trace is exactly as the app left it: same times, duration and span count, in SQL and REST.
    assert _trace_shape(collector, trace_id) == before
