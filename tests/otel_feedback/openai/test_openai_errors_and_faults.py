"""The caller's errors are recorded and re-raised unchanged; our own faults never break a call."""

from __future__ import annotations

import asyncio
import gc
import logging

import openai
import pytest

from otel_feedback.openai import _accumulators, _request, _results
from otel_feedback_testing import Fault

MESSAGES = [{"role": "user", "content": "hello"}]


def test_rate_limit_error_is_recorded_and_reraised_unchanged(server, client, instrumented, spans) -> None:
    server.add_fault(Fault.rate_limit(retry_after=7))
    caught: list[BaseException] = []

    def call() -> None:
        try:
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        except openai.RateLimitError as exc:
            caught.append(exc)
            raise

    with pytest.raises(openai.RateLimitError) as raised:
        call()

    assert raised.value is caught[0]
    assert raised.value.response.headers["retry-after"] == "7"
    span = spans.one("chat gpt-4o-mini")
    assert not span.status.is_ok
    assert span.status.description.startswith("RateLimitError: ")
    assert span.attributes["error.type"] == "RateLimitError"
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "openai.RateLimitError"
    assert "output.value" not in span.attributes
    assert "input.value" in span.attributes


def test_server_error_is_recorded_and_reraised_in_async_code(server, async_client, instrumented, spans) -> None:
    server.add_fault(Fault.server_error())

    async def call() -> None:
        await async_client.embeddings.create(model="text-embedding-3-small", input="x")

    with pytest.raises(openai.InternalServerError) as raised:
        asyncio.run(call())

    assert raised.value.status_code == 500
    span = spans.one("embeddings text-embedding-3-small")
    assert not span.status.is_ok
    assert span.attributes["error.type"] == "InternalServerError"
    assert [event.name for event in span.events] == ["exception"]


def test_a_fault_in_a_response_extractor_never_breaks_the_call(client, instrumented, spans, monkeypatch,
                                                               caplog) -> None:
    def broken(kind: object, result: object) -> dict:
        raise RuntimeError("extractor bug")

    monkeypatch.setattr(_results, "result_attributes", broken)
    with caplog.at_level(logging.WARNING, logger="otel_feedback"):
        completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert completion.choices[0].message.content == "Hello! How can I help you today?"
    span = spans.one("chat gpt-4o-mini")
    assert span.status.is_ok
    assert "gen_ai.response.id" not in span.attributes
    assert "could not read an OpenAI response" in caplog.text


def test_a_fault_in_the_request_extractor_runs_the_call_untraced(client, instrumented, spans, monkeypatch,
                                                                 caplog) -> None:
    def broken(resource: object, kwargs: object) -> dict:
        raise RuntimeError("extractor bug")

    monkeypatch.setattr(_request, "request_attributes", broken)
    with caplog.at_level(logging.WARNING, logger="otel_feedback"):
        completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert completion.choices[0].message.content == "Hello! How can I help you today?"
    assert spans.all() == []
    assert "runs untraced" in caplog.text


def test_a_fault_in_a_stream_accumulator_never_breaks_the_stream(client, instrumented, spans, monkeypatch,
                                                                  caplog) -> None:
    def broken_add(self: object, item: object) -> bool:
        raise RuntimeError("accumulator bug")

    monkeypatch.setattr(_accumulators.ChatAccumulator, "add", broken_add)
    with caplog.at_level(logging.WARNING, logger="otel_feedback"):
        chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))

    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello! How can I help you today?"
    span = spans.one("chat gpt-4o-mini")
    assert span.attributes["otel_feedback.stream.outcome"] == "completed"
    assert "could not read a streamed OpenAI chunk" in caplog.text


def test_a_fault_when_assembling_a_stream_still_ends_the_span_once(client, instrumented, spans, monkeypatch) -> None:
    def broken_output(self: object) -> object:
        raise RuntimeError("assembly bug")

    monkeypatch.setattr(_accumulators.ChatAccumulator, "output", broken_output)
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    list(stream)
    stream.close()
    del stream
    gc.collect()

    span = spans.one("chat gpt-4o-mini")
    assert span.attributes["otel_feedback.stream.outcome"] == "completed"
    assert "output.value" not in span.attributes
