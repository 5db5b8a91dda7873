"""Streamed calls: the assembled answer, usage from the final chunk, and a span that ends
exactly once however the stream ends (read out, closed, ``with``, abandoned, broken)."""

from __future__ import annotations

import asyncio
import gc
import json

import openai
import pytest
from openai_span_expectations import (
    FIRST_CHUNK,
    attributes_without_content,
    base_attributes,
    input_of,
    output_of,
    params,
    usage,
)

from otel_feedback import get_last_active_trace_id, trace
from otel_feedback._tracing import format_trace_id
from otel_feedback.openai import autolog
from otel_feedback_testing import Fault

QUESTION = [{"role": "user", "content": "tell me about opentelemetry"}]
ANSWER = "OpenTelemetry is an open standard for traces, metrics and logs."


def _stream(client: openai.OpenAI, **options: object) -> openai.Stream:
    return client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, stream=True, **options)


def test_fully_read_stream_with_usage(server, client, instrumented, spans) -> None:
    stream = _stream(client, stream_options={"include_usage": True})
    assert spans.all() == []  # the span stays open while the caller reads
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == ANSWER
    span = spans.one("chat gpt-4o-mini")
    assert attributes_without_content(span) == {
        **base_attributes(server, api="chat.completions.create", model="gpt-4o-mini"),
        "input.mime_type": "application/json",
        "output.mime_type": "application/json",
        "otel_feedback.stream.outcome": "completed",
        "gen_ai.response.id": chunks[0].id,
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.response.finish_reasons": ["stop"],
        **usage(4, 10),
        **params(stream=True, stream_options={"include_usage": True}),
        **FIRST_CHUNK,
    }
    assert input_of(span)["stream_options"] == {"include_usage": True}
    assert output_of(span) == {
        "id": chunks[0].id,
        "object": "chat.completion",
        "created": chunks[0].created,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 10, "total_tokens": 14},
    }
    assert span.events == ()  # the time to first chunk is an attribute, as the GenAI conventions say
    assert json.loads(span.attributes["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": ANSWER}], "finish_reason": "stop"}]
    assert span.attributes["llm.output_messages.0.message.content"] == ANSWER
    assert get_last_active_trace_id() == format_trace_id(span.context.trace_id)


def test_stream_without_usage_has_no_token_counts(client, instrumented, spans) -> None:
    list(_stream(client))

    attributes = spans.one("chat gpt-4o-mini").attributes
    assert "gen_ai.usage.input_tokens" not in attributes
    assert "llm.token_count.total" not in attributes
    assert list(attributes["gen_ai.response.finish_reasons"]) == ["stop"]


def test_stream_tool_call_deltas_are_assembled(client, instrumented, spans) -> None:
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    chunks = list(client.chat.completions.create(
        model="gpt-4o-mini", stream=True, tools=[tool],
        messages=[{"role": "user", "content": 'call get_weather {"city": "Paris"}'}],
    ))

    call_id = next(c for c in chunks if c.choices and c.choices[0].delta.tool_calls).choices[0].delta.tool_calls[0].id
    message = output_of(spans.one("chat gpt-4o-mini"))["choices"][0]["message"]
    assert message == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": call_id, "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}],
    }


def test_stream_closed_early(client, instrumented, spans) -> None:
    stream = _stream(client)
    next(stream)
    next(stream)
    stream.close()
    stream.close()  # a second close changes nothing

    span = spans.one("chat gpt-4o-mini")
    assert span.attributes["otel_feedback.stream.outcome"] == "closed_early"
    assert output_of(span)["choices"][0]["message"]["content"] == "OpenTelemetry"
    assert "gen_ai.response.finish_reasons" not in span.attributes


def test_stream_as_context_manager(client, instrumented, spans) -> None:
    with _stream(client) as stream:
        assert isinstance(stream, openai.Stream)
        first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"

    span = spans.one("chat gpt-4o-mini")
    assert span.attributes["otel_feedback.stream.outcome"] == "closed_early"


def test_stream_read_out_inside_context_manager_ends_once_as_completed(client, instrumented, spans) -> None:
    with _stream(client) as stream:
        for _ in stream:
            pass

    span = spans.one("chat gpt-4o-mini")
    assert span.attributes["otel_feedback.stream.outcome"] == "completed"


def test_abandoned_stream_ends_when_garbage_collected(client, instrumented, spans) -> None:
    stream = _stream(client)
    next(stream)
    del stream
    gc.collect()

    span = spans.one("chat gpt-4o-mini")
    assert span.attributes["otel_feedback.stream.outcome"] == "abandoned"


def test_unread_stream_abandoned_ends_too(client, instrumented, spans) -> None:
    _stream(client)
    gc.collect()

    assert spans.one("chat gpt-4o-mini").attributes["otel_feedback.stream.outcome"] == "abandoned"


@pytest.mark.parametrize(("disconnect", "error_type"), [(False, openai.APIError), (True, openai.APIConnectionError)])
def test_stream_that_breaks_midway_records_the_error(server, client, instrumented, spans, disconnect,
                                                     error_type) -> None:
    server.add_fault(Fault.broken_stream(after_chunks=3, disconnect=disconnect))
    stream = _stream(client)
    received = []
    with pytest.raises(error_type) as raised:
        for chunk in stream:
            received.append(chunk)

    assert len(received) == 3
    span = spans.one("chat gpt-4o-mini")
    assert span.status.is_ok is False
    assert span.status.description.startswith(type(raised.value).__name__)
    assert span.attributes["otel_feedback.stream.outcome"] == "error"
    assert span.attributes["error.type"] == type(raised.value).__qualname__
    assert [event.name for event in span.events] == ["exception"]
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0
    assert output_of(span)["choices"][0]["message"]["content"] == "OpenTelemetry is"
    stream.close()
    gc.collect()
    assert len(spans.named("chat gpt-4o-mini")) == 1


def test_stream_proxies_the_stream_attributes(client, instrumented, spans) -> None:
    stream = _stream(client)
    assert stream.response.status_code == 200
    assert stream.response.headers["content-type"] == "text/event-stream"
    list(stream)
    assert len(spans.all()) == 1


def test_spans_after_the_call_do_not_nest_under_the_open_stream_span(client, instrumented, spans) -> None:
    @trace
    def consume(stream: openai.Stream) -> str:
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    @trace
    def app() -> str:
        return consume(_stream(client))

    assert app() == ANSWER
    root, llm, consumer = spans.one("app"), spans.one("chat gpt-4o-mini"), spans.one("consume")
    assert llm.parent.span_id == root.context.span_id
    assert consumer.parent.span_id == root.context.span_id


def test_chat_stream_helper_is_traced(client, instrumented, spans) -> None:
    with client.chat.completions.stream(model="gpt-4o-mini", messages=QUESTION) as stream:
        final = stream.get_final_completion()

    assert final.choices[0].message.content == ANSWER
    span = spans.one("chat gpt-4o-mini")
    assert output_of(span)["choices"][0]["message"]["content"] == ANSWER


def test_async_stream_endings(server, async_client, instrumented, spans) -> None:
    async def scenario() -> list[str]:
        texts = []
        # read out, with usage
        stream = await async_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, stream=True,
                                                            stream_options={"include_usage": True})
        assert isinstance(stream, openai.AsyncStream)
        texts.append("".join([c.choices[0].delta.content or "" async for c in stream if c.choices]))
        # closed early
        stream = await async_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, stream=True)
        await stream.__anext__()
        await stream.close()
        # async with
        async with await async_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION,
                                                              stream=True) as stream:
            await stream.__anext__()
        # abandoned
        stream = await async_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, stream=True)
        await stream.__anext__()
        del stream
        gc.collect()
        # broken midway
        server.add_fault(Fault.broken_stream(after_chunks=2))
        stream = await async_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, stream=True)
        with pytest.raises(openai.APIError):
            async for _ in stream:
                pass
        return texts

    assert asyncio.run(scenario()) == [ANSWER]
    found = spans.named("chat gpt-4o-mini")
    assert [span.attributes["otel_feedback.stream.outcome"] for span in found] == [
        "completed", "closed_early", "closed_early", "abandoned", "error"
    ]
    completed = found[0]
    assert attributes_without_content(completed) == {
        **base_attributes(server, api="chat.completions.create", model="gpt-4o-mini"),
        "input.mime_type": "application/json",
        "output.mime_type": "application/json",
        "otel_feedback.stream.outcome": "completed",
        "gen_ai.response.id": output_of(completed)["id"],
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.response.finish_reasons": ["stop"],
        **usage(4, 10),
        **params(stream=True, stream_options={"include_usage": True}),
        **FIRST_CHUNK,
    }
    assert completed.events == ()
    assert not found[4].status.is_ok


def test_a_stream_opened_before_uninstrument_still_ends_its_span(client, spans) -> None:
    autolog()
    stream = _stream(client)
    autolog(disable=True)
    list(stream)

    assert spans.one("chat gpt-4o-mini").attributes["otel_feedback.stream.outcome"] == "completed"


def test_time_to_first_chunk_lies_within_the_span_when_the_input_is_large(
    server, client, instrumented, spans
) -> None:
    """The clock for the first chunk starts with the span, not before the span's attributes
    are made: with a large input (its copy into the span takes a while) it began earlier,
    so the time to the first chunk could exceed the span (a flaky CI failure under load)."""
    messages = [{"role": "user", "content": f"question {n}: " + "x" * 2000} for n in range(3000)]
    list(client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True))
    span = spans.one("chat gpt-4o-mini")
    seconds = span.attributes["gen_ai.response.time_to_first_chunk"]
    assert 0 < seconds <= (span.end_time - span.start_time) / 1e9
