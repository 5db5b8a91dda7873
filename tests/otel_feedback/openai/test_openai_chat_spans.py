"""Chat Completions (create and parse), sync and async: the exact span each call produces."""

from __future__ import annotations

import asyncio
import json

import openai
import pydantic
from openai_span_expectations import (
    attributes_without_content,
    base_attributes,
    content_attributes,
    input_of,
    output_of,
    params,
    usage,
)
from opentelemetry.trace import SpanKind

from otel_feedback import get_last_active_trace_id, trace
from otel_feedback._tracing import format_trace_id
from otel_feedback_testing import Reply, ToolCall

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}]
WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


def test_chat_create_span_has_exact_attributes(server, client, instrumented, spans) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, temperature=0.2, top_p=0.9, max_tokens=50,
        stop=["\n\n"], seed=7, frequency_penalty=0.1, presence_penalty=0.3,
    )

    span = spans.one("chat gpt-4o-mini")
    assert attributes_without_content(span) == {
        **base_attributes(server, api="chat.completions.create", model="gpt-4o-mini"),
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.stop_sequences": ["\n\n"],
        "gen_ai.request.seed": 7,
        "gen_ai.request.frequency_penalty": 0.1,
        "gen_ai.request.presence_penalty": 0.3,
        "input.mime_type": "application/json",
        "output.mime_type": "application/json",
        "gen_ai.response.id": completion.id,
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.response.finish_reasons": ["stop"],
        **usage(4, 7),
        **params(temperature=0.2, top_p=0.9, max_tokens=50, stop=["\n\n"], seed=7, frequency_penalty=0.1,
                 presence_penalty=0.3),
    }
    assert span.kind is SpanKind.CLIENT
    assert input_of(span) == {
        "model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0.2, "top_p": 0.9, "max_tokens": 50,
        "stop": ["\n\n"], "seed": 7, "frequency_penalty": 0.1, "presence_penalty": 0.3,
    }
    output = output_of(span)
    assert output["id"] == completion.id
    assert output["choices"][0]["message"]["content"] == "Hello! How can I help you today?"
    assert output["usage"] == {"prompt_tokens": 4, "completion_tokens": 7, "total_tokens": 11}
    assert span.parent is None
    assert span.status.is_unset


def test_bare_call_is_a_root_span_and_sets_last_active_trace_id(client, instrumented, spans) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    span = spans.one("chat gpt-4o-mini")
    assert span.parent is None
    assert get_last_active_trace_id() == format_trace_id(span.context.trace_id)


def test_tool_calls_are_in_the_output(server, client, instrumented, spans) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": 'call get_weather {"city": "Paris"}'}],
        tools=[WEATHER_TOOL],
    )

    call = completion.choices[0].message.tool_calls[0]
    span = spans.one("chat gpt-4o-mini")
    assert list(span.attributes["gen_ai.response.finish_reasons"]) == ["tool_calls"]
    message = output_of(span)["choices"][0]["message"]
    assert message["tool_calls"] == [
        {"id": call.id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    ]
    assert input_of(span)["tools"] == [WEATHER_TOOL]


def test_async_chat_create_span_has_exact_attributes(server, async_client, instrumented, spans) -> None:
    async def call() -> openai.types.chat.ChatCompletion:
        return await async_client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_completion_tokens=2)

    completion = asyncio.run(call())

    span = spans.one("chat gpt-4o")
    assert attributes_without_content(span) == {
        **base_attributes(server, api="chat.completions.create", model="gpt-4o"),
        "gen_ai.request.max_tokens": 2,
        "input.mime_type": "application/json",
        "output.mime_type": "application/json",
        "gen_ai.response.id": completion.id,
        "gen_ai.response.model": "gpt-4o",
        "gen_ai.response.finish_reasons": ["length"],
        **usage(4, 2),
        **params(max_completion_tokens=2),
    }
    assert span.kind is SpanKind.CLIENT
    assert output_of(span)["choices"][0]["message"]["content"] == "Hello! How"


class Verdict(pydantic.BaseModel):
    """A structured answer for ``parse``."""

    result: str
    rationale: str


def _verdict_responder(request: object) -> Reply:
    return Reply(text='{"result": "yes", "rationale": "it matches"}')


def test_chat_parse_sync_and_async(server, client, async_client, instrumented, spans) -> None:
    server.responder = _verdict_responder
    parsed = client.chat.completions.parse(model="gpt-4o-mini", messages=MESSAGES, response_format=Verdict)

    async def call() -> object:
        return await async_client.chat.completions.parse(model="gpt-4o-mini", messages=MESSAGES,
                                                         response_format=Verdict)

    async_parsed = asyncio.run(call())

    assert parsed.choices[0].message.parsed == Verdict(result="yes", rationale="it matches")
    assert async_parsed.choices[0].message.parsed == Verdict(result="yes", rationale="it matches")
    sync_span, async_span = spans.named("chat gpt-4o-mini")
    for span, result in ((sync_span, parsed), (async_span, async_parsed)):
        assert attributes_without_content(span) == {
            **base_attributes(server, api="chat.completions.parse", model="gpt-4o-mini"),
            "input.mime_type": "application/json",
            "output.mime_type": "application/json",
            "gen_ai.response.id": result.id,
            "gen_ai.response.model": "gpt-4o-mini",
            "gen_ai.response.finish_reasons": ["stop"],
            **usage(4, 5),
            **params(response_format="Verdict"),
        }
        assert input_of(span)["response_format"] == "Verdict"
        message = output_of(span)["choices"][0]["message"]
        assert json.loads(message["content"]) == {"result": "yes", "rationale": "it matches"}


def test_tutorial_chatbot_makes_one_trace_of_three_spans(server, client, instrumented, spans) -> None:
    @trace(span_type="RETRIEVER")
    def retrieve(question: str) -> list[str]:
        return ["MLflow is an open source platform."]

    @trace
    def my_chatbot(question: str) -> str:
        context = retrieve(question)
        completion = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": " ".join(context)}, {"role": "user", "content": question}],
        )
        return completion.choices[0].message.content

    answer = my_chatbot("What is MLflow?")

    assert answer == "MLflow is an open source platform for managing the machine learning lifecycle."
    root, retriever, llm = spans.one("my_chatbot"), spans.one("retrieve"), spans.one("chat gpt-4o-mini")
    assert len(spans.all()) == 3
    assert {span.context.trace_id for span in (root, retriever, llm)} == {root.context.trace_id}
    assert root.parent is None
    assert retriever.parent.span_id == root.context.span_id
    assert llm.parent.span_id == root.context.span_id
    assert retriever.attributes["openinference.span.kind"] == "RETRIEVER"
    assert llm.attributes["openinference.span.kind"] == "LLM"
    assert llm.attributes["otel_feedback.span_type"] == "CHAT_MODEL"
    assert get_last_active_trace_id() == format_trace_id(root.context.trace_id)


def test_spans_nest_under_the_current_span_in_async_code(async_client, instrumented, spans) -> None:
    @trace
    async def answer(question: str) -> str:
        completion = await async_client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
        )
        return completion.choices[0].message.content

    assert asyncio.run(answer("hi")) == "Hello! How can I help you today?"
    root, llm = spans.one("answer"), spans.one("chat gpt-4o-mini")
    assert llm.parent.span_id == root.context.span_id


def test_a_tool_call_reply_from_a_custom_responder(server, client, instrumented, spans) -> None:
    server.responder = lambda request: Reply(text="Checking.", tool_calls=(ToolCall("lookup", {"q": "x"}),))
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=[WEATHER_TOOL])

    message = output_of(spans.one("chat gpt-4o-mini"))["choices"][0]["message"]
    assert message["content"] == "Checking."
    assert message["tool_calls"][0]["function"] == {"name": "lookup", "arguments": '{"q": "x"}'}


def test_chat_messages_and_tools_in_both_conventions(server, client, instrumented, spans) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": 'call get_weather {"city": "Paris"}'}],
        tools=[WEATHER_TOOL],
    )

    call = completion.choices[0].message.tool_calls[0]
    span = spans.one("chat gpt-4o-mini")
    assert content_attributes(span) == {
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
        "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": 'call get_weather {"city": "Paris"}'}]}]),
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [
            {"type": "tool_call", "id": call.id, "name": "get_weather", "arguments": {"city": "Paris"}}],
            "finish_reason": "tool_calls"}]),
        "gen_ai.tool.definitions": json.dumps(
            [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]),
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "Be brief.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": 'call get_weather {"city": "Paris"}',
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.id": call.id,
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"city": "Paris"}',
        "llm.tools.0.tool.json_schema": json.dumps(WEATHER_TOOL),
        "llm.tools.0.tool.name": "get_weather",
    }


def test_a_tool_result_sent_back_is_a_tool_message(server, client, instrumented, spans) -> None:
    assistant = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    client.chat.completions.create(model="gpt-4o-mini", messages=[
        {"role": "user", "content": "weather?"}, assistant,
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}])

    attributes = content_attributes(spans.one("chat gpt-4o-mini"))
    assert json.loads(attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "weather?"}]},
        {"role": "assistant", "parts": [
            {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "sunny"}]},
    ]
    assert attributes["llm.input_messages.1.message.tool_calls.0.tool_call.function.name"] == "get_weather"
    assert attributes["llm.input_messages.2.message.role"] == "tool"
    assert attributes["llm.input_messages.2.message.tool_call_id"] == "call_1"
    assert attributes["llm.input_messages.2.message.content"] == "sunny"


def test_a_long_conversation_keeps_every_other_attribute(server, client, instrumented, spans) -> None:
    # The SDK keeps 128 attributes and evicts the oldest: flattened messages must not push out the rest.
    history = [{"role": "user" if n % 2 == 0 else "assistant", "content": f"turn {n}"} for n in range(99)]
    history.append({"role": "user", "content": "hello there"})
    client.chat.completions.create(model="gpt-4o-mini", messages=history)

    span = spans.one("chat gpt-4o-mini")
    assert span.attributes["gen_ai.operation.name"] == "chat"
    assert span.attributes["openinference.span.kind"] == "LLM"
    assert span.attributes["gen_ai.usage.output_tokens"] == 7
    assert len(json.loads(span.attributes["gen_ai.input.messages"])) == 100
    flat = content_attributes(span)
    roles = sorted(key for key in flat if key.startswith("llm.input_messages.") and key.endswith(".message.role"))
    assert len(roles) == 24  # the most recent messages, two attributes each, numbered from 0
    assert flat["llm.input_messages.23.message.content"] == "hello there"
    assert flat["llm.input_messages.0.message.content"] == "turn 76"
    assert span.dropped_attributes == 0
