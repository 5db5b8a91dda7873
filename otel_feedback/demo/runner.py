"""The demo flow, step by step, each step printing what it did and where to look."""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import otel_feedback
from otel_feedback import AssessmentSource, AssessmentSourceType
from otel_feedback.demo.tutorial_app import TUTORIAL_QUESTIONS, make_chatbot, stand_in_responder

DEFAULT_DATA_DIR = "otel-feedback-data"
DEFAULT_MODEL = "gpt-4o-mini"
END_USER = "enduser_123"
THUMBS_DOWN_RATIONALE = "Missing details about how feedback is stored and evaluated"


class DemoRefused(Exception):
    """The demo will not run as asked (e.g. it would write into an existing data directory)."""


@dataclass
class DemoResult:
    """What a demo run produced, for the caller (and the tests) to check."""

    data_dir: Path
    collector_url: str
    trace_ids: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    feedback_trace_id: str | None = None
    feedback_id: str | None = None
    stand_in_model: bool = True


def check_data_dir(data_dir: Path, *, ask: bool, stdin: TextIO, out: TextIO) -> None:
    """Refuse to write into a non-empty data directory unless the person at the terminal agrees."""
    if not data_dir.exists() or not any(data_dir.iterdir()):
        return
    if not ask:
        raise DemoRefused(
            f"{data_dir} already holds data and the demo never writes into an existing data "
            "directory without asking: pass --data NEW_DIR, or remove it first"
        )
    out.write(f"{data_dir} already holds data. Add the demo's traces to it? [y/N] ")
    out.flush()
    if stdin.readline().strip().lower() not in ("y", "yes"):
        raise DemoRefused(f"left {data_dir} untouched; pass --data NEW_DIR to run the demo elsewhere")


def _port_or_free(host: str, port: int) -> int:
    """``port`` when it is free on ``host``, else 0 (the server then picks a free one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return 0
    return port


class _Steps:
    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._number = 0

    def say(self, title: str, *details: str) -> None:
        self._number += 1
        self._out.write(f"\n[{self._number}] {title}\n")
        for line in details:
            self._out.write(f"    {line}\n")
        self._out.flush()


@contextmanager
def _model(stack: ExitStack, steps: _Steps) -> Iterator[tuple[object, str, bool]]:
    import openai

    if os.environ.get("OPENAI_API_KEY"):
        model = os.environ.get("OTEL_FEEDBACK_DEMO_MODEL", DEFAULT_MODEL)
        steps.say("Model: the real OpenAI-compatible endpoint", f"model {model} (OPENAI_API_KEY is set)")
        yield openai.OpenAI(), model, False
        return
    from otel_feedback.testing import LocalOpenAIServer

    server = stack.enter_context(LocalOpenAIServer(responder=stand_in_responder))
    steps.say(
        "Model: a local STAND-IN for an LLM (no OPENAI_API_KEY is set)",
        f"an OpenAI-compatible server at {server.base_url}",
        "its answers are canned from the retrieved context, not written by a language model;",
        "set OPENAI_API_KEY (and OPENAI_BASE_URL for vLLM/Ollama) to use a real model",
    )
    client = openai.OpenAI(base_url=server.base_url, api_key="stand-in", max_retries=0)
    yield client, DEFAULT_MODEL, True


def run_demo(
    data_dir: Path,
    *,
    serve: bool,
    host: str = "127.0.0.1",
    port: int = 4318,
    grpc_port: int = 4317,
    ask: bool | None = None,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    stop_event: threading.Event | None = None,
) -> DemoResult:
    """Run the tutorial flow on ``data_dir``; with ``serve``, keep the collector up until Ctrl-C."""
    from collector.server import CollectorServer

    out = out or sys.stdout
    stdin = stdin or sys.stdin
    check_data_dir(data_dir, ask=stdin.isatty() if ask is None else ask, stdin=stdin, out=out)
    steps = _Steps(out)
    out.write("otel-feedback demo: the human-feedback tutorial, on this machine, on open files\n")

    with ExitStack() as stack:
        collector = stack.enter_context(
            CollectorServer(data_dir, host=host, port=_port_or_free(host, port),
                            grpc_port=_port_or_free(host, grpc_port))
        )
        result = DemoResult(data_dir=data_dir, collector_url=collector.http_url)
        steps.say(
            "Collector started",
            f"OTLP/HTTP and REST API: {collector.http_url}",
            f"OTLP/gRPC: {collector.grpc_endpoint}",
            f"data directory: {data_dir.resolve()} (Parquet files + DuckDB views)",
        )

        # Our own provider, exporting to the collector: the demo never touches a global one
        # another part of the process may have set.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create(
            {"service.name": "tutorial-chatbot", "otel_feedback.experiment": "tutorial"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{collector.http_url}/v1/traces")))
        stack.callback(provider.shutdown)
        otel_feedback.configure(collector.http_url, tracer_provider=provider, experiment="tutorial")
        from otel_feedback.openai import autolog

        instrumentor = autolog()
        stack.callback(instrumentor.uninstrument)

        client, model, stand_in = stack.enter_context(_model(stack, steps))
        result.stand_in_model = stand_in

        # Step 1 of the tutorial: instrument and run the app.
        my_chatbot = make_chatbot(client, model)
        lines = []
        for question in TUTORIAL_QUESTIONS:
            answer = my_chatbot(question)
            trace_id = otel_feedback.get_last_active_trace_id()
            assert trace_id is not None
            result.trace_ids.append(trace_id)
            result.answers.append(answer)
            lines.append(f"{trace_id}  Q: {question}")
            lines.append(f"{' ' * 32}  A: {answer}")
        steps.say(f"Traced chatbot answered {len(TUTORIAL_QUESTIONS)} questions "
                  "(a @trace root, a RETRIEVER span, an LLM span each)", *lines)

        # Step 2: the end user's thumbs-down on the first answer.
        feedback = otel_feedback.log_feedback(
            trace_id=result.trace_ids[0],
            name="user_feedback",
            value=False,
            rationale=THUMBS_DOWN_RATIONALE,
            source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id=END_USER),
        )
        result.feedback_trace_id = feedback.trace_id
        result.feedback_id = feedback.assessment_id
        steps.say("End user gave a thumbs-down", f"log_feedback(trace_id={feedback.trace_id}, name='user_feedback', "
                  f"value=False, source=HUMAN {END_USER})", f"rationale: {THUMBS_DOWN_RATIONALE}")

        otel_feedback.flush()
        provider.force_flush()
        collector.store.flush()
        connection = collector.store.connect()
        span_count, trace_count = connection.execute(
            "select count(*), count(distinct trace_id) from spans").fetchall()[0]
        stored = connection.execute(
            "select name, value, source_type, source_id from assessments where trace_id = ?",
            [feedback.trace_id],
        ).fetchall()
        connection.close()
        steps.say(
            "Stored as open files",
            f"{span_count} spans in {trace_count} traces; assessments on {feedback.trace_id}: "
            + ", ".join(f"{name}={value} ({source_type} {source_id})" for name, value, source_type, source_id in stored),
            f"SQL: otel-feedback sql --data {data_dir} \"select name, span_type, duration_ms from spans\"",
        )
        steps.say(
            "See it in the web UI",
            f"traces table: {collector.http_url}/experiments/tutorial",
            f"the thumbs-down trace: {collector.http_url}/traces/{feedback.trace_id}",
            f"the same over REST: {collector.http_url}/api/v1/traces/{feedback.trace_id}",
        )

        if serve:
            out.write(f"\nServing {collector.http_url} until Ctrl-C (run with --no-serve to exit at the end).\n")
            out.flush()
            waiter = stop_event or threading.Event()
            try:
                while not waiter.wait(0.5):
                    pass
            except KeyboardInterrupt:
                out.write("\nStopping.\n")
    return result
