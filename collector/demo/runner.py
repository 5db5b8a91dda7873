"""The demo flow, step by step, each step printing what it did and where to look."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import otel_feedback
from otel_feedback import AssessmentSource, AssessmentSourceType
from otel_feedback_collector.demo.simulated_review import submit_review
from otel_feedback_collector.demo.stand_in_judge import PASS_SHARE, stand_in_judge_responder
from otel_feedback_collector.demo.tutorial_app import TUTORIAL_QUESTIONS, make_chatbot, stand_in_responder

if TYPE_CHECKING:
    from otel_feedback_collector.server import CollectorServer
    from otel_feedback.evaluation import EvaluationResult
    from otel_feedback.labeling import LabelingSession
    from opentelemetry.sdk.trace import TracerProvider

DEFAULT_MODEL = "gpt-4o-mini"
END_USER = "enduser_123"
THUMBS_DOWN_RATIONALE = "Missing details about how feedback is stored and evaluated"
DEVELOPER = "developer_demo"
ACCURACY_SCORE = 0.75
ACCURACY_RATIONALE = (
    "The answer names tracing and Parquet storage, but not who gives feedback or that new versions "
    "of the app are evaluated against it."
)
DEMO_STAGES = ("feedback", "session", "all")
SESSION_NAME = "quickstart_review"
REVIEWER = "demo_expert"
EXPERT_ACCURACY = "Partially Accurate"
CHAT_AGENT = "tutorial-chatbot"
EXPECTED_RESPONSE = (
    "otel-feedback traces GenAI apps with OpenTelemetry and stores every span as Parquet files. "
    "End users, developers and domain experts add feedback and expectations to the traces, and each "
    "new version of the app is evaluated against them."
)


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
    session_id: str | None = None
    session_url: str | None = None
    evaluation_run_id: str | None = None
    evaluation_metrics: dict[str, float] = field(default_factory=dict)
    chat_url: str | None = None


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
    from otel_feedback_testing import LocalOpenAIServer

    server = stack.enter_context(LocalOpenAIServer(responder=stand_in_responder))
    steps.say(
        "Model: a local STAND-IN for an LLM (no OPENAI_API_KEY is set)",
        f"an OpenAI-compatible server at {server.base_url}",
        "its answers are canned from the retrieved context, not written by a language model;",
        "set OPENAI_API_KEY (and OPENAI_BASE_URL for vLLM/Ollama) to use a real model",
    )
    client = openai.OpenAI(base_url=server.base_url, api_key="stand-in", max_retries=0)
    judge = stack.enter_context(LocalOpenAIServer(responder=stand_in_judge_responder))
    # The judge reads OPENAI_BASE_URL (docs/evaluation.md); point it at the stand-in for this run.
    stack.enter_context(_environment_variable("OPENAI_BASE_URL", judge.base_url))
    steps.say(
        "Judge: a local STAND-IN for an LLM judge (no OPENAI_API_KEY is set)",
        f"an OpenAI-compatible server at {judge.base_url} answering the judge prompt contract",
        f"by rule: 'yes' when the answer holds at least {PASS_SHARE:.0%} of the expected response's key words",
    )
    yield client, DEFAULT_MODEL, True


@contextmanager
def _environment_variable(name: str, value: str) -> Iterator[None]:
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def _post_json(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def _flush_to_store(provider: TracerProvider, collector: CollectorServer) -> None:
    """Everything the SDK sent so far, acknowledged by the collector and queryable."""
    otel_feedback.flush()
    provider.force_flush()
    collector.store.flush()


def _expert_review_session() -> LabelingSession:
    from otel_feedback.label_schemas import InputCategorical, InputText, create_label_schema
    from otel_feedback.labeling import create_labeling_session

    accuracy_schema = create_label_schema(
        name="response_accuracy", type="feedback", title="Is the response factually accurate?",
        input=InputCategorical(options=["Accurate", "Partially Accurate", "Inaccurate"]), overwrite=True,
    )
    ideal_response_schema = create_label_schema(
        name="expected_response", type="expectation", title="What would be the ideal response?",
        input=InputText(), overwrite=True,
    )
    session = create_labeling_session(
        name=SESSION_NAME, label_schemas=[accuracy_schema.name, ideal_response_schema.name],
    )
    session.add_traces(otel_feedback.search_traces(filter="assessments.user_feedback = false", max_results=1))
    return session


def _add_reviewer(data_dir: Path, session: LabelingSession) -> str:
    from otel_feedback_collector.catalog import CatalogDatabase
    from otel_feedback_collector.catalog.users import add_user

    password = add_user(CatalogDatabase(data_dir), REVIEWER)
    session.set_assigned_users([REVIEWER])
    return password


def _evaluate_session(session: LabelingSession, my_chatbot: Callable[[str], str], data_dir: Path) -> EvaluationResult:
    from otel_feedback.evaluation import evaluate
    from otel_feedback.scorers import Correctness

    labeled_traces = otel_feedback.search_traces(labeling_session=session)
    return evaluate(data=labeled_traces, predict_fn=my_chatbot, scorers=[Correctness()], data_dir=data_dir)


def _review_and_evaluate(
    steps: _Steps,
    result: DemoResult,
    *,
    collector: CollectorServer,
    provider: TracerProvider,
    data_dir: Path,
    my_chatbot: Callable[[str], str],
    trace_url: str,
    simulate_review: bool,
) -> None:
    """Tutorial steps 4 to 6: the developer's annotation, the expert review, the evaluation."""
    # Step 4: the developer's own annotation, normally made by hand in the UI.
    annotation = _post_json(f"{collector.http_url}/api/v1/traces/{result.feedback_trace_id}/assessments", {
        "name": "accuracy_score", "value": ACCURACY_SCORE, "rationale": ACCURACY_RATIONALE,
        "source": {"source_type": "HUMAN", "source_id": DEVELOPER},
    })
    steps.say(
        "Developer annotation (tutorial step 4: you do this in the UI)",
        f"open {trace_url}, click the root span my_chatbot, then in Assessments 'Add assessment':",
        f"type Feedback, name accuracy_score, value {ACCURACY_SCORE}, a rationale, then Create;",
        "after a refresh the traces table has an accuracy_score column.",
        f"What the developer would add, logged here through the REST API as {DEVELOPER}: "
        f"accuracy_score = {annotation['value']} (assessment {annotation['assessment_id']})",
    )

    # Step 5: label schemas, a labeling session with the thumbs-down trace, a reviewer.
    session = _expert_review_session()
    result.session_id, result.session_url = session.id, session.url
    password = _add_reviewer(data_dir, session)
    steps.say(
        "Expert review: label schemas and a labeling session (tutorial step 5)",
        "label schemas: response_accuracy (feedback: Accurate / Partially Accurate / Inaccurate), "
        "expected_response (expectation, free text)",
        f"session {SESSION_NAME!r} with the thumbs-down trace: {session.url}",
        f"reviewer account {REVIEWER!r}, password {password} (shown once; "
        "add more with: otel-feedback users add NAME)",
    )

    if not simulate_review:
        steps.say(
            "Your turn: be the expert (the demo stopped before its simulated review)",
            f"open {session.url}, sign in as {REVIEWER!r} with the password above,",
            "answer both questions for the trace and press Submit; then, for step 6:",
            f"evaluate it with `otel-feedback evaluate --labeling-session {SESSION_NAME}` (docs/evaluation.md)",
        )
        return

    submit_review(session.url, reviewer=REVIEWER, password=password,
                  answers={"response_accuracy": EXPERT_ACCURACY, "expected_response": EXPECTED_RESPONSE})
    steps.say(
        "SIMULATED expert review (so the demo reaches step 6 without a human)",
        f"in real use the expert submits this in the review app at {session.url};",
        f"here the demo signed in as {REVIEWER!r} and posted the same form over HTTP:",
        f"response_accuracy = {EXPERT_ACCURACY}",
        f"expected_response = {EXPECTED_RESPONSE}",
    )

    # Step 6: evaluate the app against the expert's expected response.
    evaluation = _evaluate_session(session, my_chatbot, data_dir)
    result.evaluation_run_id = evaluation.run_id
    result.evaluation_metrics = dict(evaluation.metrics)
    _flush_to_store(provider, collector)
    rows = [
        f"{row['source_trace_id']} -> re-run as {row['trace_id']}: correctness = {row['correctness/value']}"
        f" ({row['correctness/rationale'] or row['correctness/error']})"
        for row in evaluation.rows.to_pylist()
    ]
    steps.say(
        "Evaluation: the labeled traces re-run and judged by Correctness() (tutorial step 6)",
        *rows,
        "metrics: " + ", ".join(f"{name} = {value:g}" for name, value in sorted(evaluation.metrics.items())),
        f"run stored as Parquet: {evaluation.path}",
        "the judge's verdicts are feedback named 'correctness' (source LLM_JUDGE) on the new traces",
    )
    steps.say(
        "Where to look",
        f"traces table: {collector.http_url}/experiments/tutorial",
        f"the thumbs-down trace: {trace_url}",
        f"the review app: {session.url}",
    )


def _register_chat_agent(stack: ExitStack, steps: _Steps, my_chatbot: Callable[[str], str], host: str) -> str:
    """Serve the chatbot as an OpenAI-compatible endpoint and register it with the review app."""
    from otel_feedback.chat_app import ChatAppServer
    from otel_feedback.labeling import get_review_app

    app = stack.enter_context(ChatAppServer(my_chatbot, host=host, port=0, model="my_chatbot"))
    review_app = get_review_app()
    review_app.add_agent(agent_name=CHAT_AGENT, model_serving_endpoint=app.base_url)
    chat_url = review_app.url + "/chat"
    steps.say(
        "Vibe check: chat with the app in the review app (docs/labeling.md, \"Vibe check\")",
        f"the chatbot is served as an OpenAI-compatible endpoint at {app.base_url}",
        f"(what `otel-feedback chat-app MODULE:FUNCTION` does) and registered as the agent {CHAT_AGENT!r};",
        f"experts sign in at {chat_url}, chat, and mark each answer Good or Bad:",
        "every turn is a trace of the app, the conversation is its session, the verdicts are feedback on it",
    )
    return chat_url


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
    until: str = "all",
) -> DemoResult:
    """Run the tutorial flow on ``data_dir``; with ``serve``, keep the collector up until Ctrl-C.

    ``until``: ``"all"`` (default) runs every step, the expert review simulated; ``"session"``
    stops after creating the labeling session so a person can review in the browser;
    ``"feedback"`` stops after the end user's thumbs-down (tutorial steps 1 to 3).
    """
    if until not in DEMO_STAGES:
        raise ValueError(f"until must be one of {', '.join(DEMO_STAGES)}; got {until!r}")
    from otel_feedback_collector.server import CollectorServer

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

        # Our own providers (spans; assessments as log records), exporting to the collector: the
        # demo never touches a global one another part of the process may have set.
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create({"service.name": "tutorial-chatbot", "otel_feedback.experiment": "tutorial"})
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{collector.http_url}/v1/traces")))
        stack.callback(provider.shutdown)
        logger_provider = LoggerProvider(resource=resource)
        logger_provider.add_log_record_processor(
            BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{collector.http_url}/v1/logs")))
        stack.callback(logger_provider.shutdown)
        otel_feedback.configure(collector.http_url, tracer_provider=provider, logger_provider=logger_provider,
                                experiment="tutorial")
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

        _flush_to_store(provider, collector)
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
        trace_url = f"{collector.http_url}/traces/{feedback.trace_id}"
        steps.say(
            "See it in the web UI",
            f"traces table: {collector.http_url}/experiments/tutorial",
            f"the thumbs-down trace: {trace_url}",
            "its Assessments panel shows user_feedback = false with the end user's rationale",
            f"the same over REST: {collector.http_url}/api/v1/traces/{feedback.trace_id}",
        )

        if until != "feedback":
            _review_and_evaluate(steps, result, collector=collector, provider=provider, data_dir=data_dir,
                                 my_chatbot=my_chatbot, trace_url=trace_url, simulate_review=until == "all")
            result.chat_url = _register_chat_agent(stack, steps, my_chatbot, host)

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
