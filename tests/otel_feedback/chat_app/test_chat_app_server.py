"""The chat app over HTTP with the real openai client: answers, streams, errors, and the W3C trace
context and session a caller sends reaching the app's own spans (in the process's in-memory exporter)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry.trace import StatusCode

from otel_feedback import trace
from otel_feedback.chat_app import SESSION_HEADER, ChatAppServer

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


@trace(span_type="RETRIEVER")
def look_up(question: str) -> str:
    return f"context for {question}"


@trace
def answer_plainly(question: str) -> str:
    return f"You asked: {look_up(question)}"


@trace
def answer_in_pieces(question: str) -> Iterator[str]:
    for word in ("one ", "two ", "three"):
        yield word


@trace
def answer_from_history(messages: list[dict[str, Any]]) -> str:
    return f"{len(messages)} messages, last: {messages[-1]['content']}"


@trace
def broken_app(question: str) -> str:
    raise RuntimeError("the index is missing")


@trace
def broken_stream(question: str) -> Iterator[str]:
    yield "partial "
    raise RuntimeError("the model went away")


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[ChatAppServer] = []

    def start(function: Any) -> openai.OpenAI:
        server = ChatAppServer(function, port=0).start()
        servers.append(server)
        return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)

    yield start
    for server in servers:
        server.stop()


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]


def test_a_turn_continues_the_callers_trace_and_carries_its_session(serve, spans) -> None:
    client = serve(answer_plainly)
    reply = client.chat.completions.create(
        model="answer_plainly", messages=_user("What is Parquet?"), user="alice",
        extra_headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01", SESSION_HEADER: "conversation-7"},
    )
    assert reply.choices[0].message.content == "You asked: context for What is Parquet?"
    root, retriever = spans.one("answer_plainly"), spans.one("look_up")
    assert {format(root.context.trace_id, "032x"), format(retriever.context.trace_id, "032x")} == {TRACE_ID}
    assert format(root.parent.span_id, "016x") == PARENT_ID and root.parent.is_remote
    assert root.attributes["session.id"] == "conversation-7"
    assert root.attributes["gen_ai.conversation.id"] == "conversation-7"
    assert root.attributes["user.id"] == "alice"
    assert "session.id" not in retriever.attributes  # only the local root, as update_current_trace does


def test_without_a_traceparent_the_app_starts_its_own_trace(serve, spans) -> None:
    client = serve(answer_plainly)
    client.chat.completions.create(model="m", messages=_user("hi"))
    root = spans.one("answer_plainly")
    assert root.parent is None
    assert "session.id" not in root.attributes


def test_a_generator_streams_its_pieces_as_chunks(serve, spans) -> None:
    client = serve(answer_in_pieces)
    stream = client.chat.completions.create(model="m", messages=_user("count"), stream=True,
                                            extra_headers={SESSION_HEADER: "s-1"})
    pieces = [chunk.choices[0].delta.content for chunk in stream if chunk.choices[0].delta.content]
    assert pieces == ["one ", "two ", "three"]
    root = spans.one("answer_in_pieces")
    assert root.attributes["session.id"] == "s-1"


def test_a_string_answer_streams_as_one_chunk(serve) -> None:
    client = serve(answer_plainly)
    stream = client.chat.completions.create(model="m", messages=_user("x"), stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream) == "You asked: context for x"


def test_a_function_asking_for_messages_gets_the_whole_list(serve) -> None:
    client = serve(answer_from_history)
    reply = client.chat.completions.create(model="m", messages=_user("and now?"))
    assert reply.choices[0].message.content == "2 messages, last: and now?"


def test_a_function_that_raises_answers_500_and_its_span_is_error(serve, spans) -> None:
    client = serve(broken_app)
    with pytest.raises(openai.InternalServerError, match="The app raised RuntimeError: the index is missing"):
        client.chat.completions.create(model="m", messages=_user("x"))
    assert spans.one("broken_app").status.status_code is StatusCode.ERROR


def test_a_stream_that_breaks_midway_ends_with_an_error_event_and_an_error_span(serve, spans) -> None:
    client = serve(broken_stream)
    stream = client.chat.completions.create(model="m", messages=_user("x"), stream=True)
    with pytest.raises(openai.APIError, match="the model went away"):
        for _chunk in stream:
            pass
    assert spans.one("broken_stream").status.status_code is StatusCode.ERROR


def test_bad_requests_are_refused_with_a_sentence(serve) -> None:
    client = serve(answer_plainly)
    with pytest.raises(openai.BadRequestError, match="no message with the role 'user'"):
        client.chat.completions.create(model="m", messages=[{"role": "system", "content": "x"}])
    with pytest.raises(openai.BadRequestError, match="non-empty list"):
        client.chat.completions.create(model="m", messages=[])


def test_models_lists_the_function(serve) -> None:
    client = serve(answer_plainly)
    assert [model.id for model in client.models.list()] == ["answer_plainly"]
