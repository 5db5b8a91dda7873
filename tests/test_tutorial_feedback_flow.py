"""The tutorial's steps 1-2 as a test: trace a chatbot, record the end user's thumbs-down, find it.

Step 1: a ``@trace`` chatbot with a ``RETRIEVER`` step calls the real ``openai`` client
(auto-instrumented) against the local OpenAI-compatible server; its spans go over OTLP/HTTP to
a real collector. Step 2: the backend calls ``log_feedback(... value=False, source=HUMAN
enduser_123)``. Then ``search_traces`` shows ``user_feedback = false`` on that trace, read once
from the Parquet files (``data_dir=``) and once through the collector's REST API.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

sys.path.insert(0, str(Path(__file__).resolve().parent / "otel_feedback"))

from collector_session import configured_endpoint, exporting_to  # noqa: E402

import otel_feedback  # noqa: E402
from otel_feedback_collector.server import CollectorServer  # noqa: E402
from otel_feedback import AssessmentSource, AssessmentSourceType, SpanType, search_traces, trace  # noqa: E402
from otel_feedback.openai import OpenAIInstrumentor, autolog  # noqa: E402
from otel_feedback_testing import LocalOpenAIServer  # noqa: E402

QUESTION = "What is MLflow Tracing?"


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorServer]:
    with CollectorServer(tmp_path / "data", port=0, grpc_port=None, flush_interval=0.2) as server:
        yield server


@pytest.fixture
def llm() -> Iterator[LocalOpenAIServer]:
    with LocalOpenAIServer() as server:
        yield server


@pytest.fixture
def openai_autolog() -> Iterator[None]:
    already = OpenAIInstrumentor().is_instrumented_by_opentelemetry
    if not already:
        autolog()
    yield
    if not already:
        autolog(disable=True)


def test_thumbs_down_on_a_traced_chatbot_call_is_searchable(collector, llm, openai_autolog):
    client = OpenAI(base_url=llm.base_url, api_key="unused")

    @trace(span_type=SpanType.RETRIEVER)
    def retrieve_documents(question: str) -> list[str]:
        return ["MLflow Tracing records each step of a GenAI app as spans."]

    @trace
    def my_chatbot(question: str) -> str:
        context = "\n".join(retrieve_documents(question))
        completion = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": f"Answer from: {context}"}, {"role": "user", "content": question}],
        )
        return completion.choices[0].message.content or ""

    # Step 1: the app answers and keeps the trace id of the call.
    with exporting_to(collector.http_url, service_name="tutorial-chatbot") as provider:
        answer = my_chatbot(QUESTION)
        trace_id = otel_feedback.get_last_active_trace_id()
        # Step 2: the backend records the end user's thumbs-down on that trace.
        feedback = otel_feedback.log_feedback(
            trace_id=trace_id,
            name="user_feedback",
            value=False,
            rationale="The answer did not explain how spans are recorded.",
            source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="enduser_123"),
        )
        assert provider.force_flush(10_000)
    assert answer and trace_id
    collector.store.flush()

    # The OpenAI instrumentation types chat calls CHAT_MODEL, which `span_type = 'LLM'` includes.
    search = {"filter": "assessments.user_feedback = false AND span_type = 'LLM' "
                        "AND span_type = 'RETRIEVER'"}
    from_files = search_traces(data_dir=collector.data_dir, **search)
    with configured_endpoint(collector.http_url):
        from_api = search_traces(**search)
    for table in (from_files, from_api):
        (row,) = table.to_pylist()
        assert row["trace_id"] == trace_id
        assert row["assessments.user_feedback"] is False
        assert row["name"] == "my_chatbot"
        assert row["request"] == {"question": QUESTION}
        assert row["response"] == answer
        assert row["total_tokens"] > 0  # the LLM span's usage, from the local server

    with configured_endpoint(collector.http_url):
        (stored,) = otel_feedback.get_assessments(trace_id)
    assert stored.assessment_id == feedback.assessment_id
    assert stored.rationale == "The answer did not explain how spans are recorded."
    assert stored.source == AssessmentSource("HUMAN", "enduser_123")
