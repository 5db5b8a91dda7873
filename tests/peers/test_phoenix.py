"""Our traced chatbot, sent to Arize Phoenix over OTLP/HTTP, as Phoenix's own client shows it.

What a user sees in Phoenix: span kinds (LLM / RETRIEVER / CHAIN), the chat messages, the
retrieved documents, the model and its token counts; and a trace made of exactly the app's three
spans, as long as the app took, whatever feedback is logged on it later.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from peer_app import READ_PHOENIX, run_chatbot
from peer_expectations import APP_SPAN_NAMES, MAX_TRACE_SECONDS
from peer_servers import PeerServer, run_json, settled_view
from peer_venvs import PeerVenv

# The first run on a machine builds the peer's virtualenv with pip inside the first test's set-up
# (a few minutes on a busy machine); the project's default of 300 s per test is for our own code.
pytestmark = pytest.mark.timeout(1200)


def _show(value: Any) -> str:
    return json.dumps(value, indent=1, default=str)[:6000]


@pytest.fixture(scope="module")
def phoenix_view(phoenix_server: PeerServer, phoenix_venv: PeerVenv) -> dict[str, Any]:
    """The chatbot's trace as Phoenix returns it: ``{"app": ..., "spans": [...], "traces": [...]}``."""
    app = run_chatbot(phoenix_server.url)
    reader = [str(phoenix_venv.python), str(READ_PHOENIX)]

    def read() -> dict[str, Any]:
        return run_json([*reader, phoenix_server.url, app["trace_id"]], what="reading Phoenix through phoenix.client")

    view = settled_view(
        read,
        lambda view: len(view["spans"]) >= len(APP_SPAN_NAMES) and bool(view["traces"]),
        what=f"the app's {len(APP_SPAN_NAMES)} spans of trace {app['trace_id']} in Phoenix",
    )
    return {"app": app, **view}


def _span(view: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [span for span in view["spans"] if span.get("span_kind") == kind]
    assert len(found) == 1, f"expected one {kind} span in Phoenix, got:\n{_show(view['spans'])}"
    return found[0]


def test_span_kinds_show(phoenix_view: dict[str, Any]) -> None:
    kinds = {span["name"]: span["span_kind"] for span in phoenix_view["spans"]}
    assert kinds.get("answer") == "CHAIN", kinds
    assert kinds.get("retrieve") == "RETRIEVER", kinds
    assert kinds.get("chat gpt-4o-mini") == "LLM", kinds


def test_chat_messages_show(phoenix_view: dict[str, Any]) -> None:
    llm = _span(phoenix_view, "LLM")
    # Phoenix's chat view reads llm.input_messages.N.message.* / llm.output_messages.N.message.*;
    # its dataframe gathers them into a list of {"message.role": ..., "message.content": ...}.
    inputs = llm.get("attributes.llm.input_messages")
    assert inputs, f"no attributes.llm.input_messages on the LLM span; Phoenix has:\n{_show(llm)}"
    assert [item.get("message.role") for item in inputs] == ["system", "user"], _show(inputs)
    assert inputs[1].get("message.content") == phoenix_view["app"]["question"], _show(inputs)
    outputs = llm.get("attributes.llm.output_messages")
    assert outputs, f"no attributes.llm.output_messages on the LLM span; Phoenix has:\n{_show(llm)}"
    assert outputs[0].get("message.role") == "assistant", _show(outputs)
    assert outputs[0].get("message.content") == phoenix_view["app"]["answer"], _show(outputs)


def test_retrieved_documents_show(phoenix_view: dict[str, Any]) -> None:
    retriever = _span(phoenix_view, "RETRIEVER")
    # Phoenix's document view reads retrieval.documents.N.document.{id,content,score}.
    documents = retriever.get("attributes.retrieval.documents")
    assert documents, f"no attributes.retrieval.documents on the RETRIEVER span; Phoenix has:\n{_show(retriever)}"
    shown = [(item.get("document.id"), item.get("document.content")) for item in documents]
    expected = [(document["id"], document["content"]) for document in phoenix_view["app"]["documents"]]
    assert shown == expected, _show(documents)


def test_model_and_tokens_show(phoenix_view: dict[str, Any]) -> None:
    llm = _span(phoenix_view, "LLM")
    assert llm.get("attributes.llm.model_name") == phoenix_view["app"]["model"], _show(llm)
    prompt, completion, total = (llm.get(f"attributes.llm.token_count.{part}") for part in ("prompt", "completion", "total"))
    assert prompt and completion and total == prompt + completion, _show(llm)
    (trace,) = phoenix_view["traces"]
    assert (trace["token_count_prompt"], trace["token_count_completion"]) == (prompt, completion), _show(trace)


def test_trace_has_exactly_the_apps_spans(phoenix_view: dict[str, Any]) -> None:
    names = sorted(span["name"] for span in phoenix_view["spans"])
    assert names == sorted(APP_SPAN_NAMES), (
        f"Phoenix shows spans {names} for the trace; the app made {sorted(APP_SPAN_NAMES)} "
        f"(feedback must not add a span):\n{_show(phoenix_view['spans'])}"
    )
    roots = [span["name"] for span in phoenix_view["spans"] if not span.get("parent_id")]
    assert roots == ["answer"], f"expected one root span 'answer', got {roots}"


def test_trace_duration_is_the_apps_own(phoenix_view: dict[str, Any]) -> None:
    (trace,) = phoenix_view["traces"]
    seconds = (datetime.fromisoformat(trace["end_time"]) - datetime.fromisoformat(trace["start_time"])).total_seconds()
    # The app answers in milliseconds; its feedback comes 2 s later and must not stretch the trace.
    assert seconds < MAX_TRACE_SECONDS, (
        f"Phoenix shows the trace lasting {seconds:.3f} s (the feedback was logged "
        f"{phoenix_view['app']['feedback_delay_s']} s after the answer):\n{_show(trace)}"
    )
