"""log_feedback / log_expectation: validation at the call, delivery as OTel log records (events)."""

from __future__ import annotations

import dataclasses
import json

import pytest

import otel_feedback
from otel_feedback import AssessmentSource, AssessmentSourceType, trace
from otel_feedback import _config


def _event(log_records):
    """The attributes of the one ``gen_ai.evaluation.result`` log record emitted."""
    record = log_records.one().log_record
    assert record.event_name == "gen_ai.evaluation.result"
    return dict(record.attributes)


def test_thumbs_down_lands_in_the_target_trace(spans, log_records):
    @trace
    def chatbot(question):
        return "answer"

    chatbot("q")
    trace_id = otel_feedback.get_last_active_trace_id()
    root = spans.one("chatbot")
    spans.clear()

    feedback = otel_feedback.log_feedback(
        trace_id=trace_id,
        name="user_feedback",
        value=False,
        rationale="The answer was off topic",
        source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="enduser_123"),
    )
    assert spans.all() == []  # no span is created for an assessment
    record = log_records.one().log_record
    assert format(record.trace_id, "032x") == trace_id == feedback.trace_id
    assert record.span_id == 0 != root.context.span_id  # only the trace id was known
    assert _event(log_records) == {
        "gen_ai.evaluation.name": "user_feedback",
        "gen_ai.evaluation.score.value": 0,
        "gen_ai.evaluation.score.label": "false",
        "gen_ai.evaluation.explanation": "The answer was off topic",
        "otel_feedback.assessment.id": feedback.assessment_id,
        "otel_feedback.assessment.type": "feedback",
        "otel_feedback.assessment.action": "create",
        "otel_feedback.assessment.value": "false",
        "otel_feedback.assessment.source.type": "HUMAN",
        "otel_feedback.assessment.source.id": "enduser_123",
    }
    # Logging feedback does not change which trace the app considers its last one.
    assert otel_feedback.get_last_active_trace_id() == trace_id


def test_span_target_metadata_and_numbers(spans, log_records):
    with otel_feedback.start_span("retrieve", span_type="RETRIEVER") as span:
        pass
    spans.clear()
    feedback = otel_feedback.log_feedback(
        trace_id=span.trace_id.upper(), span_id=span.span_id, name="accuracy_score", value=0.75,
        metadata={"reviewer_team": "qa"},
    )
    assert feedback.trace_id == span.trace_id
    assert spans.all() == []
    assert format(log_records.one().log_record.span_id, "016x") == span.span_id
    event = _event(log_records)
    assert event["gen_ai.evaluation.score.value"] == 0.75
    assert "gen_ai.evaluation.score.label" not in event
    assert event["otel_feedback.assessment.target.span_id"] == span.span_id
    assert json.loads(event["otel_feedback.assessment.metadata"]) == {"reviewer_team": "qa"}
    assert event["otel_feedback.assessment.source.type"] == "HUMAN"
    assert event["otel_feedback.assessment.source.id"] == "default"


def test_expectation_keeps_any_json_value(log_records):
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    expectation = otel_feedback.log_expectation(
        trace_id=trace_id, name="expected_facts", value=["MLflow is open source", {"fact": 2}],
        source=AssessmentSource("HUMAN", "expert_1"),
    )
    event = _event(log_records)
    assert expectation.type == "expectation"
    assert json.loads(event["otel_feedback.assessment.value"]) == ["MLflow is open source", {"fact": 2}]
    assert event["otel_feedback.assessment.type"] == "expectation"
    assert "gen_ai.evaluation.score.value" not in event


def test_error_feedback_without_a_value(log_records):
    feedback = otel_feedback.log_feedback(
        trace_id="0af7651916cd43dd8448eb211c80319c", name="groundedness", error=TimeoutError("judge timed out"),
        source=AssessmentSource("LLM_JUDGE", "groundedness"),
    )
    event = _event(log_records)
    assert feedback.value is None
    assert event["otel_feedback.assessment.error"] == "TimeoutError: judge timed out"
    assert event["otel_feedback.assessment.value"] == "null"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trace_id": "not-a-trace"}, "trace_id must be 32 hex characters"),
        ({"trace_id": "0" * 32}, "trace_id must be 32 hex characters"),
        ({"trace_id": 1234}, "trace_id must be a string"),
        ({"name": ""}, "name must be a non-empty string"),
        ({"name": "x" * 300}, "name must be at most 256 characters"),
        ({"value": object()}, "feedback value must be a bool, int, float, str"),
        ({"value": {1, 2}}, "feedback value must be a bool, int, float, str"),
        ({"value": float("nan")}, "must be plain JSON"),
        ({"value": None}, "feedback value must be given"),
        ({"value": [object()]}, "must be plain JSON"),
        ({"span_id": "xyz"}, "span_id must be 16 hex characters"),
        ({"rationale": 5}, "rationale must be a string"),
        ({"metadata": {1: "a"}}, "metadata must be a dict with string keys"),
        ({"source": "HUMAN"}, "source must be an AssessmentSource"),
    ],
)
def test_invalid_arguments_raise_at_the_call(log_records, kwargs, message):
    arguments = {"trace_id": "0af7651916cd43dd8448eb211c80319c", "name": "user_feedback", "value": True, **kwargs}
    with pytest.raises(ValueError, match=message):
        otel_feedback.log_feedback(**arguments)
    assert log_records.all() == []


def test_bad_source_type_is_rejected():
    with pytest.raises(ValueError, match="source_type must be one of HUMAN, LLM_JUDGE, CODE"):
        AssessmentSource(source_type="ROBOT", source_id="x")
    with pytest.raises(ValueError, match="source_id must be a non-empty string"):
        AssessmentSource(source_type="HUMAN", source_id="")
    assert AssessmentSource("llm_judge", "j").source_type is AssessmentSourceType.LLM_JUDGE


def test_feedback_is_never_dropped_silently(log_records, monkeypatch):
    monkeypatch.setattr(_config.settings, "enabled", False)
    with pytest.raises(otel_feedback.FeedbackNotDelivered, match="tracing is disabled"):
        otel_feedback.log_feedback(trace_id="0af7651916cd43dd8448eb211c80319c", name="f", value=True)


def test_flush_sends_the_pending_assessments():
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, InMemoryLogRecordExporter

    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    # A batch that would wait a minute: only flush() can send the record within this test.
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, schedule_delay_millis=60_000))
    saved = dataclasses.replace(_config.settings)
    otel_feedback.configure(logger_provider=provider)
    try:
        otel_feedback.log_feedback(trace_id="0af7651916cd43dd8448eb211c80319c", name="user_feedback", value=True)
        assert exporter.get_finished_logs() == ()
        assert otel_feedback.flush(10_000) is True
        assert [r.log_record.event_name for r in exporter.get_finished_logs()] == ["gen_ai.evaluation.result"]
    finally:
        for field in dataclasses.fields(saved):
            setattr(_config.settings, field.name, getattr(saved, field.name))
        provider.shutdown()
