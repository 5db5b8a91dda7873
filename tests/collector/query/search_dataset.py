"""A small real data directory with known traces and assessments, for the search tests.

Built once per test module (see conftest.py) through the real write path
(``SpanStore.write_traces`` and ``write_assessments``), then read with
``otel_feedback_collector.storage.connect`` like any reader.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "storage"))

from otlp_builders import make_span, new_trace_id, traces_request  # noqa: E402

from otel_feedback_collector.storage import AssessmentRecord, SpanStore  # noqa: E402

INJECTION = "' OR 1=1 --"


def _ns(day: str) -> int:
    moment = dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1e9)


@dataclass(frozen=True)
class SearchData:
    """The data directory and the trace ids of the five known traces."""

    data_dir: Path
    t1: str  # 2026-11-02, LLM, metadata channel=web priority=2, tag env=prod; user_feedback false, accuracy 0.75
    t2: str  # 2026-10-15, retriever only, ERROR; user_feedback true; expected_response 'The answer'
    t3: str  # 2026-11-05, batch_job, CHAT_MODEL (a kind of LLM), 500 tokens, metadata channel=cli; no assessments
    t4: str  # 2026-11-03, request is an injection string; user_feedback false overridden to true
    t5: str  # 2026-11-04, user_feedback false then deleted

    def ids(self, *names: str) -> set[str]:
        return {getattr(self, name) for name in names}


def _trace(day: str, *, name: str = "chat_app", request: str, llm_tokens: int | None = None,
           retriever: bool = False, error: bool = False, root_attributes: dict | None = None,
           chat_model: bool = False) -> tuple[str, list]:
    trace_id = new_trace_id()
    start = _ns(day)
    root = make_span(
        trace_id=trace_id, name=name, start_ns=start, duration_ns=50_000_000, status_error=error,
        attributes={"openinference.span.kind": "CHAIN", "input.value": request, "output.value": f"answer to {request}",
                    "session.id": "s1", "user.id": "u1", **(root_attributes or {})},
    )
    spans = [root]
    if retriever:
        spans.append(make_span(trace_id=trace_id, name="retrieve", parent_span_id=root.span_id, start_ns=start + 1000,
                               attributes={"openinference.span.kind": "RETRIEVER"}))
    if llm_tokens is not None:
        spans.append(make_span(trace_id=trace_id, name="chat gpt-4o-mini", parent_span_id=root.span_id,
                               start_ns=start + 2000,
                               attributes={"openinference.span.kind": "LLM", "gen_ai.usage.input_tokens": llm_tokens,
                                           "gen_ai.usage.output_tokens": 0,
                                           **({"otel_feedback.span_type": "CHAT_MODEL"} if chat_model else {})}))
    return trace_id.hex(), spans



def build_search_data(data_dir: Path) -> SearchData:
    """Write the five traces and their assessments into ``data_dir``."""
    t1, s1 = _trace("2026-11-02T10:00:00", request=json.dumps({"question": "What is MLflow?"}), llm_tokens=30,
                    root_attributes={"metadata": json.dumps({"channel": "web", "priority": 2}),
                                     "otel_feedback.trace.tags": json.dumps({"env": "prod"})})
    t2, s2 = _trace("2026-10-15T10:00:00", request="How do I trace?", retriever=True, error=True)
    t3, s3 = _trace("2026-11-05T10:00:00", name="batch_job", request="it's a batch", llm_tokens=500, chat_model=True,
                    root_attributes={"metadata": json.dumps({"channel": "cli"})})
    t4, s4 = _trace("2026-11-03T10:00:00", request=INJECTION)
    t5, s5 = _trace("2026-11-04T10:00:00", request="deleted feedback")
    store = SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000)
    store.open()
    try:
        store.write_traces(traces_request(s1 + s2 + s3))
        store.write_traces(traces_request(s4 + s5, resource={"service.name": "other-app"}))
        created = _ns("2026-11-06T00:00:00")
        records = [
            AssessmentRecord(trace_id=t1, name="user_feedback", value=False, rationale="wrong", source_id="enduser_123",
                             created_time_unix_nano=created),
            AssessmentRecord(trace_id=t1, name="accuracy_score", value=0.75, created_time_unix_nano=created),
            AssessmentRecord(trace_id=t2, name="user_feedback", value=True, created_time_unix_nano=created),
            AssessmentRecord(trace_id=t2, name="expected_response", type="expectation", value="The answer",
                             created_time_unix_nano=created),
            AssessmentRecord(trace_id=t4, name="user_feedback", value=False, assessment_id="old4",
                             created_time_unix_nano=created),
            AssessmentRecord(trace_id=t4, name="user_feedback", value=True, action="override", overrides="old4",
                             created_time_unix_nano=created + 1),
            AssessmentRecord(trace_id=t5, name="user_feedback", value=False, assessment_id="old5",
                             created_time_unix_nano=created),
            AssessmentRecord(trace_id=t5, name="user_feedback", value=False, action="delete", overrides="old5",
                             created_time_unix_nano=created + 1),
        ]
        store.write_assessments(records)
        store.flush()
    finally:
        store.close()
    return SearchData(data_dir, t1, t2, t3, t4, t5)

