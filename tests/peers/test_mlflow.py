"""Our traced chatbot, sent to an MLflow tracking server's OTLP endpoint, as MLflow's client shows it.

MLflow (3.6 and later) takes OTLP/HTTP at ``/v1/traces`` and files the spans under the
experiment named by the ``x-mlflow-experiment-id`` header. What a user sees there: span types
(LLM / RETRIEVER / CHAIN), the chat messages, the retrieved documents, the model and its token
usage; and a trace made of exactly the app's three spans, as long as the app took, whatever
feedback is logged on it later.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from peer_app import READ_MLFLOW, run_chatbot
from peer_expectations import APP_SPAN_NAMES, MAX_TRACE_SECONDS
from peer_servers import PeerServer, run_json, settled_view
from peer_venvs import PeerVenv

# The first run on a machine builds the peer's virtualenv with pip inside the first test's set-up
# (a few minutes on a busy machine); the project's default of 300 s per test is for our own code.
pytestmark = pytest.mark.timeout(1200)


def _show(value: Any) -> str:
    return json.dumps(value, indent=1, default=str)[:6000]


@pytest.fixture(scope="module")
def mlflow_view(mlflow_server: PeerServer, mlflow_venv: PeerVenv) -> dict[str, Any]:
    """The chatbot's trace as MLflow returns it: ``{"app": ..., "info": {...}, "spans": [...]}``."""
    reader = [str(mlflow_venv.python), str(READ_MLFLOW)]
    experiment = run_json([*reader, "experiment", mlflow_server.url, "otel-feedback-peers"], what="creating an MLflow experiment")
    experiment_id = str(experiment["experiment_id"])
    app = run_chatbot(mlflow_server.url, {"x-mlflow-experiment-id": experiment_id})

    def read() -> dict[str, Any]:
        return run_json(
            [*reader, "trace", mlflow_server.url, experiment_id, app["trace_id"]],
            what="reading MLflow through MlflowClient.search_traces / get_trace",
        )

    view = settled_view(
        read,
        lambda view: view["info"] is not None and len(view["spans"]) >= len(APP_SPAN_NAMES),
        what=f"the app's {len(APP_SPAN_NAMES)} spans of trace {app['trace_id']} in MLflow experiment {experiment_id}",
    )
    return {"app": app, **view}


def _span(view: dict[str, Any], span_type: str) -> dict[str, Any]:
    found = [span for span in view["spans"] if span.get("span_type") == span_type]
    assert len(found) == 1, f"expected one {span_type} span in MLflow, got:\n{_show(view['spans'])}"
    return found[0]


def test_span_types_show(mlflow_view: dict[str, Any]) -> None:
    types = {span["name"]: span["span_type"] for span in mlflow_view["spans"]}
    assert types.get("answer") == "CHAIN", types
    assert types.get("retrieve") == "RETRIEVER", types
    assert types.get("chat gpt-4o-mini") in ("LLM", "CHAT_MODEL"), types


def test_chat_messages_show(mlflow_view: dict[str, Any]) -> None:
    llm = _span(mlflow_view, "LLM")
    # MLflow's chat view renders an LLM span whose inputs hold chat messages (MLflow takes the
    # inputs from OpenInference's input.value first: the OpenAI request with its messages).
    inputs = llm.get("inputs") or {}
    messages = inputs.get("messages") if isinstance(inputs, dict) else None
    assert messages, f"the LLM span's inputs in MLflow hold no messages:\n{_show(llm)}"
    assert [message.get("role") for message in messages] == ["system", "user"], _show(messages)
    assert mlflow_view["app"]["question"] in json.dumps(messages[1]), _show(messages)
    assert mlflow_view["app"]["answer"] in json.dumps(llm.get("outputs")), f"the answer is not in the LLM span's outputs:\n{_show(llm)}"


def test_retrieved_documents_show(mlflow_view: dict[str, Any]) -> None:
    retriever = _span(mlflow_view, "RETRIEVER")
    outputs = retriever.get("outputs")
    assert isinstance(outputs, list), f"the RETRIEVER span's outputs in MLflow are not a list of documents:\n{_show(retriever)}"
    shown = json.dumps(outputs)
    for document in mlflow_view["app"]["documents"]:
        assert document["content"] in shown and document["id"] in shown, _show(retriever)


def test_model_and_tokens_show(mlflow_view: dict[str, Any]) -> None:
    llm = _span(mlflow_view, "LLM")
    attributes = llm["attributes"]
    assert attributes.get("mlflow.llm.model") == mlflow_view["app"]["model"], _show(attributes)
    usage = attributes.get("mlflow.chat.tokenUsage") or {}
    assert usage.get("input_tokens") and usage.get("output_tokens"), _show(attributes)
    assert usage.get("total_tokens") == usage["input_tokens"] + usage["output_tokens"], _show(usage)
    # The trace's own token usage (the traces list shows it) adds up the LLM spans: one here.
    trace_usage = json.loads(mlflow_view["info"]["trace_metadata"].get("mlflow.trace.tokenUsage", "{}"))
    assert trace_usage.get("input_tokens") == usage["input_tokens"], _show(mlflow_view["info"])


def test_trace_has_exactly_the_apps_spans(mlflow_view: dict[str, Any]) -> None:
    names = sorted(span["name"] for span in mlflow_view["spans"])
    assert names == sorted(APP_SPAN_NAMES), (
        f"MLflow shows spans {names} for the trace; the app made {sorted(APP_SPAN_NAMES)} "
        f"(feedback must not add a span):\n{_show(mlflow_view['spans'])}"
    )
    roots = [span["name"] for span in mlflow_view["spans"] if not span.get("parent_id")]
    assert roots == ["answer"], f"expected one root span 'answer', got {roots}"


def test_trace_duration_is_the_apps_own(mlflow_view: dict[str, Any]) -> None:
    milliseconds = mlflow_view["info"]["execution_duration_ms"]
    # The app answers in milliseconds; its feedback comes 2 s later and must not stretch the trace.
    assert milliseconds < MAX_TRACE_SECONDS * 1000, (
        f"MLflow shows execution_duration_ms {milliseconds} for the trace (the feedback was logged "
        f"{mlflow_view['app']['feedback_delay_s']} s after the answer):\n{_show(mlflow_view['info'])}"
    )
