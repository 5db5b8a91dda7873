"""The vibe check end to end: reviewers chat in the review app with an app served by a real
``otel-feedback chat-app`` subprocess (which calls the stand-in model), judge the answers, and
every turn is a trace holding the app's own spans, in one session, with the reviewer's feedback."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from chat_support import chat_app_process
from collector_session import configured_endpoint, wait_for
from review_support import PASSWORDS, sign_in

from otel_feedback.labeling import get_review_app
from otel_feedback_collector.catalog import CatalogDatabase
from otel_feedback_collector.catalog.agents import save_agent
from otel_feedback_collector.catalog.users import add_user
from otel_feedback_collector.server import CollectorServer
from otel_feedback_testing import LocalOpenAIServer, ModelRequest

AGENT = "vibe-bot"
_CONTEXT = re.compile(r"Context:\s*(?P<context>.*?)\n\nQuestion:", re.DOTALL)


def answer_from_context(request: ModelRequest) -> str:
    found = _CONTEXT.search(request.last_user_message)
    return found.group("context") if found else "No context."


@pytest.fixture(scope="module")
def model() -> Iterator[LocalOpenAIServer]:
    with LocalOpenAIServer(responder=answer_from_context) as server:
        yield server


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorServer]:
    data = tmp_path_factory.mktemp("vibe") / "data"
    catalog = CatalogDatabase(data)
    for name, password in PASSWORDS.items():
        add_user(catalog, name, password=password)
    with CollectorServer(data, port=0, grpc_port=None) as server:
        yield server


@pytest.fixture(scope="module")
def agent(collector: CollectorServer, model: LocalOpenAIServer) -> Iterator[str]:
    """The app served by ``otel-feedback chat-app`` and registered as AGENT through the SDK."""
    with chat_app_process("vibe_app:answer", collector_url=collector.http_url, model_url=model.base_url) as url:
        with configured_endpoint(collector.http_url):
            get_review_app().add_agent(agent_name=AGENT, model_serving_endpoint=url)
        yield url


def _rows(collector: CollectorServer, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    collector.store.flush()
    connection = collector.store.connect()
    try:
        return connection.execute(sql, params or []).fetchall()
    finally:
        connection.close()


def _turn(client: httpx.Client, agent: str, messages: list[dict[str, str]]) -> list[dict[str, Any]]:
    page = client.get(f"/review/chat?agent={agent}").text
    token = re.search(r'data-token="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]
    session = re.search(r'data-session="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]
    answer = client.post("/review/chat/turns", headers={"X-CSRF-Token": token},
                         json={"agent": agent, "session_id": session, "messages": messages})
    assert answer.status_code == 200, answer.text
    return [json.loads(line) for line in answer.text.splitlines() if line.strip()]


def _sign_in_page(page: Any, base_url: str, name: str) -> None:
    page.goto(f"{base_url}/review/chat")
    expect(page).to_have_url(re.compile(r".*/review/signin\?next="))
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r".*/review/chat$"))


def test_a_reviewer_chats_two_turns_and_marks_the_first_answer_bad(
    collector: CollectorServer, agent: str, browser: Any
) -> None:
    page = browser.new_page()
    _sign_in_page(page, collector.http_url, "alice")
    expect(page.get_by_role("heading", name=f"Chat with {AGENT}")).to_be_visible()

    page.get_by_label("Your message").fill("What is Parquet?")
    page.get_by_role("button", name="Send").click()
    first = page.get_by_role("group", name="Feedback on answer 1")
    expect(first).to_be_visible()
    hostile = "<b id=bold>And</b> <img src=x onerror=window.pwned=1> OpenTelemetry?"
    page.get_by_label("Your message").fill(hostile)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("group", name="Feedback on answer 2")).to_be_visible()
    answers = page.locator(".turn.assistant pre.text")
    expect(answers.nth(0)).to_have_text("Parquet is a columnar file format. You asked: What is Parquet?")
    expect(answers.nth(1)).to_have_text(f"Parquet is a columnar file format. You asked: {hostile}")
    assert page.locator("#conversation b, #conversation img").count() == 0  # shown as text, never markup
    assert page.evaluate("window.pwned") is None

    # The verdict by keyboard: each control is reachable with Tab, in order.
    first.get_by_role("button", name="Bad answer").click()
    expect(first.get_by_role("button", name="Bad answer")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Tab")
    expect(first.get_by_label("Comment")).to_be_focused()
    page.keyboard.type("It should say what Parquet is for.")
    page.keyboard.press("Tab")
    expect(first.get_by_label("What should it have said?")).to_be_focused()
    page.keyboard.type("Parquet is a columnar file format that DuckDB reads with SQL.")
    page.keyboard.press("Tab")
    expect(first.get_by_role("button", name="Save feedback")).to_be_focused()
    page.keyboard.press("Enter")
    expect(first.get_by_role("status")).to_have_text("Saved.")
    page.close()

    def app_traces() -> list[tuple[Any, ...]] | None:
        rows = _rows(collector, """
            SELECT t.trace_id, t.session_id, t.user_id, t.status FROM traces t
            WHERE t.trace_id IN (SELECT trace_id FROM spans WHERE span_type = 'RETRIEVER')
              AND t.trace_id IN (SELECT trace_id FROM spans WHERE span_type IN ('LLM', 'CHAT_MODEL'))
              AND t.trace_id IN (SELECT trace_id FROM spans WHERE name = 'answer')
            ORDER BY t.start_time""")
        return rows if len(rows) >= 2 else None

    traces = wait_for(app_traces, what="two chat turns with the app's RETRIEVER and LLM spans")
    assert len(traces) == 2
    (first_trace, session, user, status), (second_trace, session_2, _, _) = traces
    assert session and session == session_2
    assert (user, status) == ("alice", "OK")
    # The app's own root continued the review app's trace and carries the session itself.
    assert _rows(collector, "SELECT DISTINCT session_id FROM spans WHERE name = 'answer' AND trace_id IN (?, ?)",
                 [first_trace, second_trace]) == [(session,)]
    feedback = _rows(collector, "SELECT trace_id, name, value, source_type, source_id, rationale FROM assessments "
                                "WHERE source_id = 'alice' ORDER BY name")
    assert feedback == [
        (first_trace, "expected_response", '"Parquet is a columnar file format that DuckDB reads with SQL."',
         "HUMAN", "alice", None),
        (first_trace, "vibe_check", "false", "HUMAN", "alice", "It should say what Parquet is for."),
    ]


def test_answers_stream_to_the_reviewer_piece_by_piece(collector: CollectorServer, agent: str) -> None:
    with closing(sign_in(collector.http_url, "bob")) as bob:
        events = _turn(bob, AGENT, [{"role": "user", "content": "Why store traces as Parquet files?"}])
    deltas = [event["delta"] for event in events if "delta" in event]
    assert len(deltas) > 1  # the app's generator and the model's stream came through in pieces
    assert "".join(deltas) == "Parquet is a columnar file format. You asked: Why store traces as Parquet files?"
    assert "trace_id" in events[0] and events[-1] == {"done": True}


def test_a_function_that_raises_ends_the_turn_with_its_error_and_an_error_trace(
    collector: CollectorServer, agent: str, browser: Any
) -> None:
    page = browser.new_page()
    _sign_in_page(page, collector.http_url, "bob")
    page.get_by_label("Your message").fill("Please fail now")
    page.get_by_role("button", name="Send").click()
    alert = page.locator(".turn.assistant").get_by_role("alert")
    expect(alert).to_contain_text("The app raised RuntimeError: the knowledge base is offline")
    expect(page.get_by_label("Your message")).to_be_enabled()  # the page still works
    page.close()

    def failed() -> list[tuple[Any, ...]] | None:
        rows = _rows(collector, """
            SELECT t.status, s.status_code FROM traces t JOIN spans s USING (trace_id)
            WHERE s.name = 'retrieve' AND s.input LIKE '%fail now%'""")
        return rows or None

    assert wait_for(failed, what="the failed turn's trace") == [("ERROR", "ERROR")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_agent_that_is_down_gets_a_message_in_the_conversation(
    collector: CollectorServer, agent: str, browser: Any
) -> None:
    down = f"http://127.0.0.1:{_free_port()}/v1"
    save_agent(CatalogDatabase(collector.data_dir), "gone-bot", base_url=down, model="m")  # it was up once
    page = browser.new_page()
    _sign_in_page(page, collector.http_url, "alice")
    page.get_by_label("Agent").select_option("gone-bot")
    page.get_by_role("button", name="Switch agent").click()
    expect(page.get_by_role("heading", name="Chat with gone-bot")).to_be_visible()
    page.get_by_label("Your message").fill("Anyone there?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".turn.assistant").get_by_role("alert")).to_contain_text(
        f"Could not reach the agent at {down}")
    expect(page.get_by_role("group", name="Feedback on answer 1")).to_be_visible()  # the turn is a trace
    page.close()
    rows = _rows(collector, "SELECT status, user_id FROM traces WHERE name = 'chat with gone-bot'")
    assert rows == [("ERROR", "alice")]


def test_a_reviewer_who_is_not_signed_in_cannot_chat(
    collector: CollectorServer, agent: str, model: LocalOpenAIServer
) -> None:
    asked = len(model.requests)
    with httpx.Client(base_url=collector.http_url) as stranger:
        page = stranger.get("/review/chat")
        assert page.status_code == 303 and page.headers["location"].startswith("/review/signin")
        body = {"agent": AGENT, "session_id": "0" * 32, "messages": [{"role": "user", "content": "hi"}]}
        refused = stranger.post("/review/chat/turns", json=body)
        assert refused.status_code == 401 and "signed out" in refused.json()["error"]
        assert stranger.post("/review/chat/feedback", json={**body, "trace_id": "1" * 32,
                                                             "verdict": "bad"}).status_code == 401
    with closing(sign_in(collector.http_url, "mallory")) as mallory:  # signed in, but without the page's token
        assert mallory.post("/review/chat/turns", json=body).status_code == 403
    assert len(model.requests) == asked  # nothing reached the app


def test_an_agent_that_is_too_slow_gets_a_message_in_the_conversation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_FEEDBACK_AGENT_TIMEOUT", "1")
    catalog = CatalogDatabase(tmp_path / "data")
    add_user(catalog, "alice", password=PASSWORDS["alice"])
    with LocalOpenAIServer(latency=5) as sleepy, CollectorServer(tmp_path / "data", port=0, grpc_port=None) as server:
        slow_url = sleepy.base_url
        save_agent(catalog, "sleepy", base_url=slow_url, model="m")
        with closing(sign_in(server.http_url, "alice")) as alice:
            events = _turn(alice, "sleepy", [{"role": "user", "content": "hello?"}])
    assert events[-1] == {"error": f"The agent at {slow_url} did not answer within 1 s. Try again, or ask "
                                   "its owner."}


@pytest.fixture
def plain_model(collector: CollectorServer, model: LocalOpenAIServer) -> str:
    """The stand-in model itself registered as an agent: OpenAI-compatible, exporting no spans."""
    save_agent(CatalogDatabase(collector.data_dir), "plain-model", base_url=model.base_url, model="gpt-4o-mini")
    return "plain-model"


def test_an_agent_that_exports_no_spans_still_gives_one_trace_per_turn(
    collector: CollectorServer, plain_model: str, model: LocalOpenAIServer
) -> None:
    with closing(sign_in(collector.http_url, "bob")) as bob:
        events = _turn(bob, "plain-model", [{"role": "user", "content": "Context: Plain.\n\nQuestion: ?"}])
    assert events[-1] == {"done": True}
    assert "".join(event.get("delta", "") for event in events) == "Plain."
    assert model.requests[-1].body["user"] == "bob"
    rows = _rows(collector, "SELECT span_count, status, user_id, session_id IS NOT NULL, response_preview "
                            "FROM traces WHERE trace_id = ?", [events[0]["trace_id"]])
    assert rows == [(1, "OK", "bob", True, "Plain.")]


def test_saving_feedback_again_overrides_the_reviewers_earlier_verdict(
    collector: CollectorServer, plain_model: str
) -> None:
    with closing(sign_in(collector.http_url, "mallory")) as mallory:
        events = _turn(mallory, "plain-model", [{"role": "user", "content": "Context: Twice.\n\nQuestion: ?"}])
        trace_id = events[0]["trace_id"]
        page = mallory.get("/review/chat?agent=plain-model").text
        token = re.search(r'data-token="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]
        base = {"agent": "plain-model", "session_id": "a" * 32, "trace_id": trace_id}
        for verdict, comment in (("good", "fine"), ("bad", "on second thought, too short")):
            saved = mallory.post("/review/chat/feedback", headers={"X-CSRF-Token": token},
                                 json={**base, "verdict": verdict, "comment": comment})
            assert saved.status_code == 200, saved.text
        refused = mallory.post("/review/chat/feedback", headers={"X-CSRF-Token": token}, json={**base, "verdict": "meh"})
        assert refused.status_code == 422 and "Choose Good answer or Bad answer" in refused.json()["error"]
    assert _rows(collector, "SELECT value, rationale FROM assessments WHERE trace_id = ?", [trace_id]) == [
        ("false", "on second thought, too short")]
    assert _rows(collector, "SELECT action FROM assessment_log WHERE trace_id = ? ORDER BY created_time_unix_nano",
                 [trace_id]) == [("create",), ("override",)]
