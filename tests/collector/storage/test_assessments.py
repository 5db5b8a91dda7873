"""Assessments from log records, from span events and from the REST path land in one log;
a replay is stored once; overrides and deletes shape the current state."""

from __future__ import annotations

import json
import os

from otel_feedback_collector.storage import AssessmentRecord, SpanStore
from otlp_builders import genai_trace, logs_request, make_span, traces_request

_EVENT = "gen_ai.evaluation.result"


def _feedback_attributes(assessment_id: str, **extra: object) -> dict:
    return {
        "gen_ai.evaluation.name": "user_feedback",
        "gen_ai.evaluation.score.value": 0,
        "gen_ai.evaluation.score.label": "false",
        "gen_ai.evaluation.explanation": "wrong answer",
        "otel_feedback.assessment.id": assessment_id,
        "otel_feedback.assessment.type": "feedback",
        "otel_feedback.assessment.value": "false",
        "otel_feedback.assessment.source.type": "HUMAN",
        "otel_feedback.assessment.source.id": "enduser_123",
        **extra,
    }


def test_log_record_becomes_an_assessment_and_others_are_dropped(store: SpanStore) -> None:
    trace_id, _ = genai_trace()
    span_id = os.urandom(8)
    request = logs_request(
        [
            {"trace_id": trace_id, "span_id": span_id, "event_name": _EVENT,
             "attributes": _feedback_attributes("a-1")},
            {"trace_id": trace_id, "attributes": {"message": "just a log line"}},
        ]
    )
    assert store.write_logs(request) == 2
    assert store.write_logs(request) == 2  # a retried export
    store.flush()
    rows = store.connect().execute(
        "SELECT assessment_id, trace_id, span_id, name, type, value, score_value, score_label, "
        "rationale, source_type, source_id, action FROM assessment_log"
    ).fetchall()
    assert rows == [
        ("a-1", trace_id.hex(), span_id.hex(), "user_feedback", "feedback", "false", 0.0,
         "false", "wrong answer", "HUMAN", "enduser_123", "create")
    ]


def test_span_event_on_an_evaluator_span_becomes_an_assessment(store: SpanStore) -> None:
    trace_id, spans = genai_trace()
    target = spans[0].span_id
    evaluator = make_span(
        trace_id=trace_id,
        name="assessment",
        parent_span_id=target,
        attributes={"openinference.span.kind": "EVALUATOR"},
        events=[(_EVENT, _feedback_attributes(
            "a-2",
            **{"otel_feedback.assessment.target.span_id": target.hex(),
               "otel_feedback.assessment.value": "0.75",
               "gen_ai.evaluation.name": "accuracy_score"},
        ))],
    )
    request = traces_request([*spans, evaluator])
    store.write_traces(request)
    store.flush()
    store.write_traces(request)  # replayed: stored once
    store.flush()
    connection = store.connect()
    assert connection.execute(
        "SELECT assessment_id, span_id, name, value FROM assessments"
    ).fetchall() == [("a-2", target.hex(), "accuracy_score", "0.75")]
    assert connection.execute(
        "SELECT count(*) FROM spans WHERE span_type = 'EVALUATOR'"
    ).fetchone() == (1,)


def test_override_and_delete_shape_the_current_state(store: SpanStore) -> None:
    trace_id = genai_trace()[0].hex()
    first = AssessmentRecord(trace_id=trace_id, name="accuracy_score", value=0.5,
                             assessment_id="x-1", rationale="meh")
    other = AssessmentRecord(trace_id=trace_id, name="expected_response", type="expectation",
                             value={"text": "ideal"}, assessment_id="x-2")
    assert store.write_assessments([first, other]) == 2
    store.flush()
    override = AssessmentRecord(trace_id=trace_id, name="accuracy_score", value=0.75,
                                assessment_id="x-3", action="override", overrides="x-1",
                                source_type="HUMAN", source_id="reviewer")
    store.write_assessments([override])
    store.write_assessments([override])  # resent
    store.flush()
    connection = store.connect()
    current = connection.execute(
        "SELECT assessment_id, name, value FROM assessments ORDER BY assessment_id"
    ).fetchall()
    assert current == [("x-2", "expected_response", '{"text":"ideal"}'),
                       ("x-3", "accuracy_score", "0.75")]
    assert connection.execute("SELECT count(*) FROM assessment_log").fetchone() == (3,)
    delete = AssessmentRecord(trace_id=trace_id, name="expected_response", action="delete",
                              overrides="x-2", assessment_id="x-4")
    store.write_assessments([delete])
    store.flush()
    connection = store.connect()
    assert connection.execute("SELECT assessment_id FROM assessments").fetchall() == [("x-3",)]
    assert connection.execute("SELECT count(*) FROM assessment_log").fetchone() == (4,)


def test_assessments_survive_restart_without_duplicates(data_dir) -> None:
    record = AssessmentRecord(trace_id="ab" * 16, name="user_feedback", value=True,
                              metadata={"k": "v"}, assessment_id="r-1")
    with SpanStore(data_dir) as store:
        store.write_assessments([record])
    with SpanStore(data_dir) as store:
        store.write_assessments([record])
        store.flush()
        rows = store.connect().execute(
            "SELECT assessment_id, value, score_value, score_label, metadata FROM assessments"
        ).fetchall()
    assert rows == [("r-1", "true", 1.0, "true", '{"k":"v"}')]
    assert json.loads(rows[0][4]) == {"k": "v"}


def test_one_flush_keeps_the_first_row_of_each_assessment_id(data_dir) -> None:
    first = AssessmentRecord(trace_id="ab" * 16, name="user_feedback", value=True, assessment_id="d-1")
    again = AssessmentRecord(trace_id="ab" * 16, name="user_feedback", value=False, assessment_id="d-1")
    other = AssessmentRecord(trace_id="ab" * 16, name="accuracy_score", value=0.5, assessment_id="d-2")
    with SpanStore(data_dir, flush_interval=60) as store:
        store.write_assessments([first, again])  # one id twice in one record
        store.write_assessments([again, other])  # a resend beside a new one, same flush
        store.flush()
        rows = store.connect().execute(
            "SELECT assessment_id, value FROM assessment_log ORDER BY assessment_id"
        ).fetchall()
    assert rows == [("d-1", "true"), ("d-2", "0.5")]


def test_an_assessment_resent_in_a_later_flush_is_in_one_file_only(data_dir) -> None:
    import duckdb

    record = AssessmentRecord(trace_id="ab" * 16, name="user_feedback", value=True, assessment_id="g-1")
    other = AssessmentRecord(trace_id="ab" * 16, name="accuracy_score", value=0.5, assessment_id="g-2")
    with SpanStore(data_dir, flush_interval=60, compaction_fan_in=1000) as store:
        store.write_assessments([record])
        store.flush()
        store.write_assessments([record, other])  # resent beside a new one, a later flush
        store.flush()
    with SpanStore(data_dir, flush_interval=60, compaction_fan_in=1000) as store:
        store.write_assessments([other])  # and again after a restart
        store.flush()
        rows = store.connect().execute("SELECT assessment_id FROM assessment_log ORDER BY 1").fetchall()
    assert rows == [("g-1",), ("g-2",)]
    # What an outside engine globbing the folder sees: every id once.
    globbed = duckdb.sql(
        f"SELECT assessment_id, count(*) FROM read_parquet('{data_dir}/assessments/*.parquet') GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert globbed == [("g-1", 1), ("g-2", 1)]
