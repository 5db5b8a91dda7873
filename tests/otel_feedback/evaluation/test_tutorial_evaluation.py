"""The tutorial's step 6: labeled traces re-run with ``predict_fn=my_chatbot`` and judged by ``Correctness()``.

Everything is real but the models: the chatbot's traces and the expert's ``expected_response``
labels are recorded by the SDK, exported over OTLP/HTTP to a real collector and stored as
Parquet; ``search_traces`` reads them back; the app's model and the judge are local
OpenAI-compatible servers (the judge with rule-based verdicts). The run's scores must come
back as feedback in the collector's ``assessments`` view.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from collector_session import Exporting, exporting_to, stored_count, wait_for
from openai import OpenAI

import otel_feedback
from otel_feedback_collector.server import CollectorServer
from otel_feedback_collector.storage import connect
from otel_feedback import AssessmentSource, log_expectation, log_feedback, search_traces
from otel_feedback_collector.demo.tutorial_app import TUTORIAL_QUESTIONS, make_chatbot, stand_in_responder
from otel_feedback.evaluation import RUN_ID_ATTRIBUTE, evaluate
from otel_feedback.scorers import Correctness, RetrievalRelevance
from otel_feedback_testing import LocalOpenAIServer

QUESTIONS = TUTORIAL_QUESTIONS[:3]
ANSWERS = [
    "otel-feedback traces GenAI apps with OpenTelemetry and stores the spans as Parquet files.",
    "OpenTelemetry is an open standard and set of SDKs for traces, metrics and logs.",
    "Parquet is an open columnar file format.",
]
# The expert agrees with the first and third answers and expects something else for the second.
EXPECTED = [ANSWERS[0], "OpenTelemetry is a vendor's proprietary tracing product.", ANSWERS[2]]


@dataclass
class Tutorial:
    collector: CollectorServer
    provider: Exporting
    chatbot: object
    labeled_trace_ids: list[str]


@pytest.fixture
def tutorial(tmp_path: Path, judge: LocalOpenAIServer) -> Iterator[Tutorial]:
    """Steps 1-5: the chatbot answered three questions and an expert labeled each answer."""
    with LocalOpenAIServer(responder=stand_in_responder) as model, \
            CollectorServer(tmp_path / "data", port=0, grpc_port=None, flush_interval=0.2) as collector, \
            exporting_to(collector.http_url, service_name="tutorial-chatbot") as provider:
        chatbot = make_chatbot(OpenAI(base_url=model.base_url, api_key="unused"), "gpt-4o-mini")
        trace_ids = []
        for question, expected in zip(QUESTIONS, EXPECTED):
            chatbot(question)
            trace_id = otel_feedback.get_last_active_trace_id()
            trace_ids.append(trace_id)
            log_expectation(trace_id=trace_id, name="expected_response", value=expected,
                            source=AssessmentSource("HUMAN", "expert_1"))
        log_feedback(trace_id=trace_ids[1], name="user_feedback", value=False,
                     source=AssessmentSource("HUMAN", "enduser_123"))
        assert provider.force_flush(10_000)
        collector.store.flush()
        yield Tutorial(collector, provider, chatbot, trace_ids)


def test_step_6_evaluates_labeled_traces_with_correctness(tutorial: Tutorial):
    data_dir = tutorial.collector.data_dir
    labeled = search_traces(data_dir=data_dir, filter="expectations.expected_response IS NOT NULL",
                            order_by="start_time ASC")
    assert labeled.column("trace_id").to_pylist() == tutorial.labeled_trace_ids

    result = evaluate(data=labeled, predict_fn=tutorial.chatbot, scorers=[Correctness()], data_dir=data_dir)

    assert result.metrics == {"correctness/pass_rate": 2 / 3, "correctness/error_count": 0.0}
    rows = result.rows.to_pylist()
    assert [row["inputs"] for row in rows] == [{"user_question": q} for q in QUESTIONS]
    assert [row["outputs"] for row in rows] == ANSWERS
    # user_feedback is feedback, not an expectation: only the expert's label is expected.
    assert [row["expectations"] for row in rows] == [{"expected_response": e} for e in EXPECTED]
    assert [row["source_trace_id"] for row in rows] == tutorial.labeled_trace_ids
    assert [row["correctness/value"] for row in rows] == ["yes", "no", "yes"]
    assert [row["correctness/rationale"] for row in rows] == [
        "The response states the expected answer.",
        "The response misses the expected answer.",
        "The response states the expected answer.",
    ]
    assert [row["correctness/error"] for row in rows] == [None, None, None]
    new_trace_ids = [row["trace_id"] for row in rows]
    assert len(set(new_trace_ids)) == 3 and not set(new_trace_ids) & set(tutorial.labeled_trace_ids)

    # The new feedback reaches the collector and shows in the assessments view, on the new traces.
    assert tutorial.provider.force_flush(10_000)
    tutorial.collector.store.flush()
    wait_for(lambda: stored_count(data_dir, "SELECT count(*) FROM assessments WHERE name = 'correctness'") == 3,
             what="three correctness assessments")
    connection = connect(data_dir)
    try:
        stored = connection.execute(
            """SELECT trace_id, value, rationale, source_type, source_id, metadata FROM assessments
               WHERE name = 'correctness'"""
        ).fetchall()
        roots = connection.execute(
            f"""SELECT trace_id, name, input FROM spans WHERE parent_span_id IS NULL
                AND attributes->>'$."{RUN_ID_ATTRIBUTE}"' = ?""",
            [result.run_id],
        ).fetchall()
    finally:
        connection.close()
    by_trace = {trace_id: rest for trace_id, *rest in stored}
    assert set(by_trace) == set(new_trace_ids)
    for row in rows:
        value, rationale, source_type, source_id, metadata = by_trace[row["trace_id"]]
        assert json.loads(value) == row["correctness/value"]
        assert rationale == row["correctness/rationale"]
        assert (source_type, source_id) == ("LLM_JUDGE", "correctness")
        assert json.loads(metadata)["run_id"] == result.run_id
    # The re-run traces belong to the run: their root carries the run id and the row's inputs.
    assert {trace_id for trace_id, _, _ in roots} == set(new_trace_ids)
    assert sorted(json.loads(text)["user_question"] for _, _, text in roots) == sorted(QUESTIONS)

    # The run and its rows are Parquet next to the traces.
    assert result.path == data_dir / "evaluations" / f"run_id={result.run_id}"
    run = duckdb.sql(f"SELECT run_id, row_count, scorers, metrics FROM read_parquet('{result.path}/run.parquet')").fetchall()
    assert run == [(result.run_id, 3, ["correctness"], json.dumps(result.metrics))]
    on_disk = duckdb.sql(
        f"SELECT trace_id, value ->> '$' FROM read_parquet('{result.path}/rows.parquet') AS r "
        f"JOIN read_parquet('{result.path}/scores.parquet') AS s USING (run_id, row) WHERE name = 'correctness' ORDER BY row"
    )
    assert on_disk.fetchall() == [(row["trace_id"], row["correctness/value"]) for row in rows]


def test_stored_traces_are_judged_from_their_retriever_spans_without_predict_fn(tutorial: Tutorial):
    labeled = search_traces(data_dir=tutorial.collector.data_dir, order_by="start_time ASC")

    result = evaluate(data=labeled, scorers=[RetrievalRelevance()], data_dir=tutorial.collector.data_dir)

    rows = result.rows.to_pylist()
    assert [row["trace_id"] for row in rows] == tutorial.labeled_trace_ids
    assert [row["outputs"] for row in rows] == ANSWERS
    # The stand-in judge says yes when the retrieved passage shares a word with the question.
    assert [row["retrieval_relevance/value"] for row in rows] == ["yes", "yes", "yes"]
    assert "opentelemetry" in rows[1]["retrieval_relevance/rationale"]
    assert result.metrics == {"retrieval_relevance/pass_rate": 1.0, "retrieval_relevance/error_count": 0.0}
