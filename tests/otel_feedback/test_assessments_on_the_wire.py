"""What a plain OTLP receiver (not our collector) gets from a traced call plus its assessments.

The receiver is the SDK tests' plain ``http.server`` OTLP sink on 127.0.0.1 (``http_sink``),
accepting ``/v1/traces`` and ``/v1/logs`` protobuf as any OTLP backend does. The app runs in a fresh interpreter with only
``configure(url)``: the spans it receives are exactly the app's, and each assessment (feedback,
expectation, override, delete) is one ``gen_ai.evaluation.result`` log record in the trace.
"""

from __future__ import annotations

import json

from app_process import run_app
from otlp_sink_support import OtlpSink, span_attributes


APP = """
import json, otel_feedback
from otel_feedback import AssessmentSource, trace
otel_feedback.configure({url!r}, service_name="wire-app")

@trace(span_type="RETRIEVER")
def retrieve(question):
    return ["doc"]

@trace
def chatbot(question):
    retrieve(question)
    return "answer"

chatbot("q")
trace_id = otel_feedback.get_last_active_trace_id()
feedback = otel_feedback.log_feedback(trace_id=trace_id, name="user_feedback", value=False, rationale="off topic",
                                      source=AssessmentSource("HUMAN", "enduser_1"))
expectation = otel_feedback.log_expectation(trace_id=trace_id, span_id={span_id!r} or None, name="expected_response",
                                            value={{"answer": 42}})
override = otel_feedback.override_feedback(trace_id=trace_id, assessment_id=feedback.assessment_id,
                                           name="user_feedback", value=True, rationale="on second look")
deleted = otel_feedback.delete_assessment(trace_id=trace_id, assessment_id=expectation.assessment_id,
                                          name="expected_response")
print(json.dumps({{"trace_id": trace_id, "flushed": otel_feedback.flush(10_000),
                   "ids": [a.assessment_id for a in (feedback, expectation, override, deleted)]}}))
"""


def test_a_plain_receiver_gets_only_the_apps_spans_and_one_log_record_per_assessment(http_sink: OtlpSink) -> None:
    span_id = "00f067aa0ba902b7"
    report = run_app(APP.format(url=http_sink.url, span_id=span_id))
    assert report["flushed"] is True

    spans = [span for _resource, span in http_sink.spans()]
    assert sorted(span.name for span in spans) == ["chatbot", "retrieve"]
    assert {span.trace_id.hex() for span in spans} == {report["trace_id"]}

    records = http_sink.log_records()
    assert len(records) == 4
    assert {record.event_name for record in records} == {"gen_ai.evaluation.result"}
    assert {record.trace_id.hex() for record in records} == {report["trace_id"]}
    by_id = {span_attributes(record)["otel_feedback.assessment.id"]: record for record in records}
    feedback_id, expectation_id, override_id, delete_id = report["ids"]
    assert set(by_id) == {feedback_id, expectation_id, override_id, delete_id}

    feedback = span_attributes(by_id[feedback_id])
    assert by_id[feedback_id].span_id == b""  # only the trace id was known
    assert feedback["gen_ai.evaluation.name"] == "user_feedback"
    assert feedback["gen_ai.evaluation.score.value"] == 0
    assert feedback["gen_ai.evaluation.score.label"] == "false"
    assert feedback["gen_ai.evaluation.explanation"] == "off topic"
    assert feedback["otel_feedback.assessment.action"] == "create"
    assert feedback["otel_feedback.assessment.source.id"] == "enduser_1"

    assert by_id[expectation_id].span_id.hex() == span_id
    expectation = span_attributes(by_id[expectation_id])
    assert expectation["otel_feedback.assessment.type"] == "expectation"
    assert expectation["otel_feedback.assessment.target.span_id"] == span_id
    assert json.loads(expectation["otel_feedback.assessment.value"]) == {"answer": 42}

    override = span_attributes(by_id[override_id])
    assert override["otel_feedback.assessment.action"] == "override"
    assert override["otel_feedback.assessment.overrides"] == feedback_id
    assert override["gen_ai.evaluation.score.value"] == 1

    deletion = span_attributes(by_id[delete_id])
    assert deletion["otel_feedback.assessment.action"] == "delete"
    assert deletion["otel_feedback.assessment.overrides"] == expectation_id
