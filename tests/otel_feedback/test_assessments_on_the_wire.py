"""What a plain OTLP receiver (not our collector) gets from a traced call plus its assessments.

The receiver is a few lines of ``http.server`` on 127.0.0.1 accepting ``/v1/traces`` and
``/v1/logs`` protobuf, as any OTLP backend does. The app runs in a fresh interpreter with only
``configure(url)``: the spans it receives are exactly the app's, and each assessment (feedback,
expectation, override, delete) is one ``gen_ai.evaluation.result`` log record in the trace.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator

import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2


class PlainReceiver:
    """The decoded OTLP requests one loopback HTTP server received, by path."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.traces: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.logs: list[logs_service_pb2.ExportLogsServiceRequest] = []
        self.url = ""

    def spans(self) -> list:
        with self.lock:
            return [span for r in self.traces for rs in r.resource_spans for ss in rs.scope_spans for span in ss.spans]

    def log_records(self) -> list:
        with self.lock:
            return [rec for r in self.logs for rl in r.resource_logs for sl in rl.scope_logs for rec in sl.log_records]


@pytest.fixture
def receiver() -> Iterator[PlainReceiver]:
    received = PlainReceiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/v1/traces":
                with received.lock:
                    received.traces.append(trace_service_pb2.ExportTraceServiceRequest.FromString(body))
                payload = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            elif self.path == "/v1/logs":
                with received.lock:
                    received.logs.append(logs_service_pb2.ExportLogsServiceRequest.FromString(body))
                payload = logs_service_pb2.ExportLogsServiceResponse().SerializeToString()
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    received.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


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


def _run(code: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _attributes(record) -> dict[str, object]:
    out = {}
    for kv in record.attributes:
        kind = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, kind) if kind else None
    return out


def test_a_plain_receiver_gets_only_the_apps_spans_and_one_log_record_per_assessment(receiver: PlainReceiver):
    span_id = "00f067aa0ba902b7"
    report = _run(APP.format(url=receiver.url, span_id=span_id))
    assert report["flushed"] is True

    spans = receiver.spans()
    assert sorted(span.name for span in spans) == ["chatbot", "retrieve"]
    assert {span.trace_id.hex() for span in spans} == {report["trace_id"]}

    records = receiver.log_records()
    assert len(records) == 4
    assert {record.event_name for record in records} == {"gen_ai.evaluation.result"}
    assert {record.trace_id.hex() for record in records} == {report["trace_id"]}
    by_id = {_attributes(record)["otel_feedback.assessment.id"]: record for record in records}
    feedback_id, expectation_id, override_id, delete_id = report["ids"]
    assert set(by_id) == {feedback_id, expectation_id, override_id, delete_id}

    feedback = _attributes(by_id[feedback_id])
    assert by_id[feedback_id].span_id == b""  # only the trace id was known
    assert feedback["gen_ai.evaluation.name"] == "user_feedback"
    assert feedback["gen_ai.evaluation.score.value"] == 0
    assert feedback["gen_ai.evaluation.score.label"] == "false"
    assert feedback["gen_ai.evaluation.explanation"] == "off topic"
    assert feedback["otel_feedback.assessment.action"] == "create"
    assert feedback["otel_feedback.assessment.source.id"] == "enduser_1"

    assert by_id[expectation_id].span_id.hex() == span_id
    expectation = _attributes(by_id[expectation_id])
    assert expectation["otel_feedback.assessment.type"] == "expectation"
    assert expectation["otel_feedback.assessment.target.span_id"] == span_id
    assert json.loads(expectation["otel_feedback.assessment.value"]) == {"answer": 42}

    override = _attributes(by_id[override_id])
    assert override["otel_feedback.assessment.action"] == "override"
    assert override["otel_feedback.assessment.overrides"] == feedback_id
    assert override["gen_ai.evaluation.score.value"] == 1

    deletion = _attributes(by_id[delete_id])
    assert deletion["otel_feedback.assessment.action"] == "delete"
    assert deletion["otel_feedback.assessment.overrides"] == expectation_id
