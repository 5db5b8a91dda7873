"""Legacy completions, embeddings and the Responses API, sync and async, streamed and not."""

from __future__ import annotations

import asyncio
import json

import openai
import pydantic
from openai_span_expectations import (
    FIRST_CHUNK,
    attributes_without_content,
    base_attributes,
    cached_and_reasoning,
    content_attributes,
    input_of,
    output_of,
    params,
    usage,
)

from otel_feedback_testing import Reply, ToolCall


def test_completions_create_sync_and_async(server, client, async_client, instrumented, spans) -> None:
    result = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="say hi", max_tokens=30,
                                       temperature=0)

    async def call() -> object:
        return await async_client.completions.create(model="gpt-3.5-turbo-instruct", prompt="say hi",
                                                     max_tokens=30, temperature=0)

    async_result = asyncio.run(call())

    found = spans.named("text_completion gpt-3.5-turbo-instruct")
    assert len(found) == 2
    for span, completion in zip(found, (result, async_result)):
        assert attributes_without_content(span) == {
            **base_attributes(server, api="completions.create", model="gpt-3.5-turbo-instruct",
                              operation="text_completion", span_type=None),
            "gen_ai.request.max_tokens": 30,
            "gen_ai.request.temperature": 0,
            "input.mime_type": "application/json",
            "output.mime_type": "application/json",
            "gen_ai.response.id": completion.id,
            "gen_ai.response.model": "gpt-3.5-turbo-instruct",
            "gen_ai.response.finish_reasons": ["stop"],
            **usage(2, 4),
            **params(max_tokens=30, temperature=0),
        }
        assert content_attributes(span) == {
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "say hi"}]}]),
            "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [
                {"type": "text", "content": "You said: say hi"}], "finish_reason": "stop"}]),
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": "say hi",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "You said: say hi",
        }
        assert input_of(span) == {"model": "gpt-3.5-turbo-instruct", "prompt": "say hi", "max_tokens": 30,
                                  "temperature": 0}
        assert output_of(span)["choices"][0]["text"] == "You said: say hi"


def test_completions_stream(server, client, instrumented, spans) -> None:
    chunks = list(client.completions.create(model="gpt-3.5-turbo-instruct", prompt="say hi", stream=True,
                                            stream_options={"include_usage": True}))

    assert "".join(c.choices[0].text for c in chunks if c.choices) == "You said: say hi"
    span = spans.one("text_completion gpt-3.5-turbo-instruct")
    assert attributes_without_content(span) == {
        **base_attributes(server, api="completions.create", model="gpt-3.5-turbo-instruct",
                          operation="text_completion", span_type=None),
        "input.mime_type": "application/json",
        "output.mime_type": "application/json",
        "otel_feedback.stream.outcome": "completed",
        "gen_ai.response.id": chunks[0].id,
        "gen_ai.response.model": "gpt-3.5-turbo-instruct",
        "gen_ai.response.finish_reasons": ["stop"],
        **usage(2, 4),
        **params(stream=True, stream_options={"include_usage": True}),
        **FIRST_CHUNK,
    }
    output = output_of(span)
    assert output["object"] == "text_completion"
    assert output["choices"] == [{"index": 0, "text": "You said: say hi", "finish_reason": "stop"}]


def test_embeddings_sync_and_async(server, client, async_client, instrumented, spans) -> None:
    result = client.embeddings.create(model="text-embedding-3-small", input=["red apple", "green pear"],
                                      dimensions=16)

    async def call() -> object:
        return await async_client.embeddings.create(model="text-embedding-3-small", input="red apple",
                                                    encoding_format="float")

    async_result = asyncio.run(call())

    assert len(result.data) == 2 and len(result.data[0].embedding) == 16
    assert len(async_result.data[0].embedding) == 64
    sync_span, async_span = spans.named("embeddings text-embedding-3-small")
    common = base_attributes(server, api="embeddings.create", model="text-embedding-3-small",
                             operation="embeddings", span_type=None, kind="EMBEDDING")
    assert attributes_without_content(sync_span) == {
        **common,
        "gen_ai.embeddings.dimension.count": 16,
        "input.mime_type": "application/json",
        "output.mime_type": "application/json",
        "gen_ai.response.model": "text-embedding-3-small",
        "gen_ai.usage.input_tokens": 4,
        "llm.token_count.prompt": 4,
        "llm.token_count.total": 4,
    }
    assert "llm.model_name" not in sync_span.attributes  # OpenInference names an embedding model apart
    assert content_attributes(sync_span) == {"embedding.embeddings.0.embedding.text": "red apple",
                                             "embedding.embeddings.1.embedding.text": "green pear"}
    assert input_of(sync_span) == {"model": "text-embedding-3-small", "input": ["red apple", "green pear"],
                                   "dimensions": 16}
    assert output_of(sync_span) == {
        "model": "text-embedding-3-small",
        "data": [{"index": 0, "dimensions": 16}, {"index": 1, "dimensions": 16}],
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }
    assert attributes_without_content(async_span) == {
        **common,
        "gen_ai.request.encoding_formats": ["float"],
        "gen_ai.embeddings.dimension.count": 64,
        "input.mime_type": "application/json",
        "output.mime_type": "application/json",
        "gen_ai.response.model": "text-embedding-3-small",
        "gen_ai.usage.input_tokens": 2,
        "llm.token_count.prompt": 2,
        "llm.token_count.total": 2,
    }


def test_responses_create_sync_and_async(server, client, async_client, instrumented, spans) -> None:
    result = client.responses.create(model="gpt-4o-mini", input="hello there", instructions="Be brief.",
                                     max_output_tokens=100, temperature=0.5)

    async def call() -> object:
        return await async_client.responses.create(model="gpt-4o-mini", input="hello there",
                                                   instructions="Be brief.", max_output_tokens=100,
                                                   temperature=0.5)

    async_result = asyncio.run(call())

    assert result.output_text == "Hello! How can I help you today?"
    found = spans.named("chat gpt-4o-mini")
    assert len(found) == 2
    for span, response in zip(found, (result, async_result)):
        assert attributes_without_content(span) == {
            **base_attributes(server, api="responses.create", model="gpt-4o-mini"),
            "gen_ai.request.max_tokens": 100,
            "gen_ai.request.temperature": 0.5,
            "input.mime_type": "application/json",
            "output.mime_type": "application/json",
            "gen_ai.response.id": response.id,
            "gen_ai.response.model": "gpt-4o-mini",
            "gen_ai.response.finish_reasons": ["stop"],
            **usage(4, 7),
            **cached_and_reasoning(0, 0),
            **params(max_output_tokens=100, temperature=0.5),
        }
        assert content_attributes(span) == {
            "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hello there"}]}]),
            "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [
                {"type": "text", "content": "Hello! How can I help you today?"}], "finish_reason": "stop"}]),
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "Be brief.",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": "hello there",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "Hello! How can I help you today?",
        }
        assert input_of(span) == {"model": "gpt-4o-mini", "input": "hello there", "instructions": "Be brief.",
                                  "max_output_tokens": 100, "temperature": 0.5}
        output = output_of(span)
        assert output["id"] == response.id
        assert output["output"][0]["content"][0]["text"] == "Hello! How can I help you today?"


def test_responses_tool_call_output(server, client, instrumented, spans) -> None:
    server.responder = lambda request: Reply(tool_calls=(ToolCall("get_weather", {"city": "Oslo"}),))
    result = client.responses.create(model="gpt-4o-mini", input="weather?",
                                     tools=[{"type": "function", "name": "get_weather", "parameters": {}}])

    span = spans.one("chat gpt-4o-mini")
    assert list(span.attributes["gen_ai.response.finish_reasons"]) == ["tool_calls"]
    (item,) = output_of(span)["output"]
    assert item["type"] == "function_call"
    assert item["name"] == "get_weather"
    assert item["arguments"] == '{"city": "Oslo"}'
    assert item["call_id"] == result.output[0].call_id
    attributes = content_attributes(span)
    assert json.loads(attributes["gen_ai.output.messages"]) == [{"role": "assistant", "parts": [
        {"type": "tool_call", "id": item["call_id"], "name": "get_weather", "arguments": {"city": "Oslo"}}],
        "finish_reason": "tool_calls"}]
    assert attributes["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"] == "get_weather"
    assert json.loads(attributes["gen_ai.tool.definitions"]) == [
        {"type": "function", "name": "get_weather", "parameters": {}}]
    assert attributes["llm.tools.0.tool.name"] == "get_weather"


def test_responses_stream_sync_and_async(server, client, async_client, instrumented, spans) -> None:
    events = list(client.responses.create(model="gpt-4o-mini", input="hello there", stream=True))

    async def call() -> list[object]:
        stream = await async_client.responses.create(model="gpt-4o-mini", input="hello there", stream=True)
        return [event async for event in stream]

    async_events = asyncio.run(call())

    assert events[-1].type == "response.completed"
    found = spans.named("chat gpt-4o-mini")
    assert len(found) == 2
    for span, streamed in zip(found, (events, async_events)):
        final = streamed[-1].response
        assert attributes_without_content(span) == {
            **base_attributes(server, api="responses.create", model="gpt-4o-mini"),
            "input.mime_type": "application/json",
            "output.mime_type": "application/json",
            "otel_feedback.stream.outcome": "completed",
            "gen_ai.response.id": final.id,
            "gen_ai.response.model": "gpt-4o-mini",
            "gen_ai.response.finish_reasons": ["stop"],
            **usage(2, 7),
            **cached_and_reasoning(0, 0),
            **params(stream=True),
            **FIRST_CHUNK,
        }
        assert output_of(span)["output"][0]["content"][0]["text"] == "Hello! How can I help you today?"
        assert span.events == ()


def test_responses_stream_closed_early_keeps_the_partial_text(client, instrumented, spans) -> None:
    stream = client.responses.create(model="gpt-4o-mini", input="hello there", stream=True)
    for event in stream:
        if event.type == "response.output_text.delta":
            break
    stream.close()

    span = spans.one("chat gpt-4o-mini")
    assert span.attributes["otel_feedback.stream.outcome"] == "closed_early"
    output = output_of(span)
    assert output["output_text"] == "Hello!"
    assert output["status"] == "in_progress"
    assert span.attributes["gen_ai.response.id"] == output["id"]


class Answer(pydantic.BaseModel):
    """A structured answer for ``responses.parse``."""

    answer: str


def test_responses_parse(server, client, instrumented, spans) -> None:
    server.responder = lambda request: '{"answer": "42"}'
    result = client.responses.parse(model="gpt-4o-mini", input="meaning of life?", text_format=Answer)

    assert result.output_parsed == Answer(answer="42")
    span = spans.one("chat gpt-4o-mini")
    assert span.attributes["otel_feedback.openai.api"] == "responses.parse"
    assert input_of(span)["text_format"] == "Answer"
    assert output_of(span)["output"][0]["content"][0]["text"] == '{"answer": "42"}'
    assert span.attributes["gen_ai.response.id"] == result.id


def test_raw_response_calls_are_traced_without_reading_the_body(client, instrumented, spans) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )

    assert raw.parse().choices[0].message.content == "Hello! How can I help you today?"
    span = spans.one("chat gpt-4o-mini")
    assert "output.value" not in span.attributes
    assert span.status.is_ok is not False
    assert isinstance(raw, openai._legacy_response.LegacyAPIResponse)


def test_responses_stream_helper_is_traced(client, instrumented, spans) -> None:
    with client.responses.stream(model="gpt-4o-mini", input="hello there") as stream:
        final = stream.get_final_response()

    assert final.output_text == "Hello! How can I help you today?"
    span = spans.one("chat gpt-4o-mini")
    assert span.attributes["otel_feedback.stream.outcome"] == "completed"
    assert span.attributes["gen_ai.response.id"] == final.id
    assert output_of(span)["output"][0]["content"][0]["text"] == final.output_text
