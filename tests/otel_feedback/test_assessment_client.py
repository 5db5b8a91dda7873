"""get_assessments, override_feedback and delete_assessment against a real collector's REST API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from collector_session import configured_endpoint, exporting_to

import otel_feedback
from otel_feedback_collector.server import CollectorServer
from otel_feedback import (
    AssessmentSource,
    AssessmentSourceType,
    delete_assessment,
    get_assessments,
    log_feedback,
    override_feedback,
    trace,
)

TOKEN = "s3cret-token"


@trace
def _answer(question: str) -> str:
    return f"answer to {question}"


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorServer]:
    """A real collector that wants a bearer token."""
    data_dir = tmp_path_factory.mktemp("assessment-client") / "data"
    with CollectorServer(data_dir, port=0, grpc_port=None, flush_interval=0.2, token=TOKEN) as server:
        yield server


@pytest.fixture
def feedback(collector: CollectorServer) -> Iterator[otel_feedback.Assessment]:
    """A new trace with a thumbs-down sent over OTLP, stored; the endpoint stays configured."""
    with exporting_to(collector.http_url, token=TOKEN) as provider:
        _answer("why?")
        trace_id = otel_feedback.get_last_active_trace_id()
        assessment = log_feedback(trace_id=trace_id, name="user_feedback", value=False, rationale="wrong",
                                  source=AssessmentSource(AssessmentSourceType.HUMAN, "enduser_123"))
        assert provider.force_flush(10_000)
        collector.store.flush()
        yield assessment


def test_get_assessments_returns_what_log_feedback_sent(feedback: otel_feedback.Assessment):
    (stored,) = get_assessments(feedback.trace_id)
    assert stored.assessment_id == feedback.assessment_id
    assert (stored.name, stored.value, stored.type, stored.rationale) == ("user_feedback", False, "feedback", "wrong")
    assert stored.source == AssessmentSource("HUMAN", "enduser_123")
    assert stored.create_time.tzinfo is not None


def test_override_keeps_the_old_value_in_history(feedback: otel_feedback.Assessment):
    new = override_feedback(trace_id=feedback.trace_id, assessment_id=feedback.assessment_id, value=True,
                            rationale="fixed by support", source=AssessmentSource("HUMAN", "agent_7"),
                            metadata={"ticket": 42})
    assert (new.action, new.overrides, new.value, new.name) == ("override", feedback.assessment_id, True, "user_feedback")
    assert new.metadata == {"ticket": 42} and new.source.source_id == "agent_7"
    current = get_assessments(feedback.trace_id)
    assert [(a.assessment_id, a.value) for a in current] == [(new.assessment_id, True)]
    history = get_assessments(feedback.trace_id, history=True)
    assert [(a.assessment_id, a.action) for a in history] == [
        (feedback.assessment_id, "create"), (new.assessment_id, "override")
    ]


def test_delete_removes_it_from_the_current_state(feedback: otel_feedback.Assessment):
    assert delete_assessment(trace_id=feedback.trace_id, assessment_id=feedback.assessment_id) is None
    assert get_assessments(feedback.trace_id) == []
    assert [a.action for a in get_assessments(feedback.trace_id, history=True)] == ["create", "delete"]
    with pytest.raises(otel_feedback.NotFound):
        delete_assessment(trace_id=feedback.trace_id, assessment_id=feedback.assessment_id)


def test_unknown_ids_are_lookup_errors(feedback: otel_feedback.Assessment):
    with pytest.raises(LookupError):
        get_assessments(uuid.uuid4().hex)
    with pytest.raises(otel_feedback.NotFound):
        override_feedback(trace_id=feedback.trace_id, assessment_id="no-such-id", value=1)


def test_a_wrong_token_is_refused(collector: CollectorServer, feedback: otel_feedback.Assessment):
    with configured_endpoint(collector.http_url, token="wrong"), pytest.raises(PermissionError, match="token"):
        get_assessments(feedback.trace_id)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: get_assessments("not-a-trace-id"), "trace_id must be 32 hex"),
        (lambda: override_feedback(trace_id="0" * 31 + "1", assessment_id="", value=True), "assessment_id must be"),
        (lambda: override_feedback(trace_id="0" * 31 + "1", assessment_id="a", value=object()), "feedback value must be"),
        (lambda: override_feedback(trace_id="0" * 31 + "1", assessment_id="a", value=float("nan")), "plain JSON"),
        (lambda: override_feedback(trace_id="0" * 31 + "1", assessment_id="a", value=1, metadata={1: 2}), "string keys"),
        (lambda: override_feedback(trace_id="0" * 31 + "1", assessment_id="a", value=1, rationale=5), "rationale"),
        (lambda: delete_assessment(trace_id="xyz", assessment_id="a"), "trace_id must be 32 hex"),
    ],
)
def test_bad_arguments_fail_before_any_request(call, message):
    # The endpoint points nowhere: a request would raise CollectorUnavailable, not ValueError.
    with configured_endpoint("http://127.0.0.1:9"), pytest.raises(ValueError, match=message):
        call()


def test_a_value_the_server_rejects_is_a_value_error(collector: CollectorServer, feedback: otel_feedback.Assessment):
    from otel_feedback import _client

    with pytest.raises(otel_feedback.InvalidRequest) as caught:
        _client.request_json("POST", f"/traces/{feedback.trace_id}/assessments", body={"name": "", "value": 1})
    assert isinstance(caught.value, ValueError) and caught.value.status in (400, 422)


def test_no_collector_configured_says_so():
    with configured_endpoint(None), pytest.raises(otel_feedback.CollectorUnavailable, match="configure"):
        get_assessments("0" * 31 + "1")
