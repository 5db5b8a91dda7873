"""The local OpenAI-compatible server, through the real openai client and raw HTTP."""

from __future__ import annotations

import asyncio
import json
import math
import socket
from collections.abc import Iterator

import httpx
import openai
import pytest

from otel_feedback_testing import (
    Fault,
    LocalOpenAIServer,
    ModelRequest,
    Reply,
    Rule,
    RuleBasedResponder,
    ToolCall,
    embed_text,
)


@pytest.fixture
def server() -> Iterator[LocalOpenAIServer]:
    """A fresh server per test (responders and faults differ between tests)."""
    with LocalOpenAIServer() as running:
        yield running


@pytest.fixture
def client(server: LocalOpenAIServer) -> Iterator[openai.OpenAI]:
    """A real client with retries off."""
    with openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as real_client:
        yield real_client


def _ask(client: openai.OpenAI, text: str, **options: object) -> openai.types.chat.ChatCompletion:
    return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}],
                                          **options)


def test_base_url_and_models(server, client) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
    assert [model.id for model in client.models.list()] == list(server.models)


def test_default_responder_rules_and_echo(client) -> None:
    assert _ask(client, "hello!").choices[0].message.content == "Hello! How can I help you today?"
    assert _ask(client, "what is 2+2").choices[0].message.content == "You said: what is 2+2"


def test_usage_counts_whitespace_tokens(client) -> None:
    completion = _ask(client, "one two three")
    assert completion.usage.prompt_tokens == 3
    assert completion.usage.completion_tokens == 5  # "You said: one two three"
    assert completion.usage.total_tokens == 8


def test_max_tokens_cuts_the_answer(client) -> None:
    completion = _ask(client, "one two three", max_tokens=2)
    assert completion.choices[0].message.content == "You said:"
    assert completion.choices[0].finish_reason == "length"


def test_custom_responder_sees_the_normalized_request(server, client) -> None:
    seen: list[ModelRequest] = []

    def responder(request: ModelRequest) -> str:
        seen.append(request)
        return '{"verdict": "yes"}'

    server.responder = responder
    answer = client.chat.completions.create(
        model="judge", messages=[{"role": "system", "content": "Judge."},
                                 {"role": "user", "content": [{"type": "text", "text": "Is it right?"}]}],
    )

    assert json.loads(answer.choices[0].message.content) == {"verdict": "yes"}
    (request,) = seen
    assert request.endpoint == "chat.completions"
    assert request.system_prompt == "Judge."
    assert request.last_user_message == "Is it right?"
    assert list(server.requests) == seen


def test_rules_and_tool_calls(server, client) -> None:
    server.responder = RuleBasedResponder(extra_rules=[Rule(r"refund", "Refunds take 5 days.")])
    tool = {"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}}

    assert _ask(client, "Where is my refund?").choices[0].message.content == "Refunds take 5 days."
    message = _ask(client, 'call lookup_order {"id": 7}', tools=[tool]).choices[0].message
    assert message.tool_calls[0].function.name == "lookup_order"
    assert json.loads(message.tool_calls[0].function.arguments) == {"id": 7}
    assert _ask(client, "call lookup_order").choices[0].message.content == "I have no tool named lookup_order."


def test_streamed_chat_with_usage_and_tool_calls(server, client) -> None:
    server.responder = lambda request: Reply(text="Let me check.", tool_calls=(ToolCall("f", {"a": 1}),))
    chunks = list(client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], stream=True,
        stream_options={"include_usage": True},
    ))

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Let me check."
    arguments = "".join(
        call.function.arguments or ""
        for c in chunks if c.choices and c.choices[0].delta.tool_calls for call in c.choices[0].delta.tool_calls
    )
    assert json.loads(arguments) == {"a": 1}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 1 + 3 + 3


def test_responses_json_and_stream(client) -> None:
    response = client.responses.create(model="gpt-4o-mini", input="hi")
    assert response.output_text == "Hello! How can I help you today?"
    assert response.usage.input_tokens == 1 and response.usage.output_tokens == 7

    events = list(client.responses.create(model="gpt-4o-mini", input="hi", stream=True))
    assert events[0].type == "response.created"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == response.output_text
    assert events[-1].type == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_legacy_completions(client) -> None:
    completion = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="hello")
    assert completion.choices[0].text == "Hello! How can I help you today?"


def test_embeddings_are_deterministic_unit_vectors(client) -> None:
    first = client.embeddings.create(model="text-embedding-3-small", input=["red apple", "red apple pie", "car"])
    again = client.embeddings.create(model="text-embedding-3-small", input="red apple", encoding_format="float")
    vectors = [item.embedding for item in first.data]  # the client asked for base64 and decoded it

    assert again.data[0].embedding == pytest.approx(vectors[0], abs=1e-6)
    assert vectors[0] == pytest.approx(embed_text("red apple", 64), abs=1e-6)
    assert math.isclose(sum(v * v for v in vectors[0]), 1.0, rel_tol=1e-5)

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b))

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])


def test_rate_limit_fault_sends_retry_after_once(server, client) -> None:
    server.add_fault(Fault.rate_limit(retry_after=2.5))
    with pytest.raises(openai.RateLimitError) as raised:
        _ask(client, "hi")
    assert raised.value.response.headers["retry-after"] == "2.5"
    assert _ask(client, "hi").choices[0].message.content  # the fault fired once


def test_fault_for_one_endpoint_waits_for_it(server, client) -> None:
    server.add_fault(Fault.server_error(endpoint="embeddings"), times=2)
    assert _ask(client, "hi").choices  # chat is not affected
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            client.embeddings.create(model="text-embedding-3-small", input="x")
    assert len(server.faults) == 0


def test_stream_faults_skip_non_streaming_requests(server, client) -> None:
    server.add_fault(Fault.broken_stream(after_chunks=1, disconnect=True))
    assert _ask(client, "hi").choices
    with pytest.raises(openai.APIConnectionError):
        list(client.chat.completions.create(model="m", messages=[{"role": "user", "content": "a b c"}], stream=True))


def test_async_client_and_latency_setting(server) -> None:
    server.latency = 0.01
    server.chunk_delay = 0.001

    async def scenario() -> str:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        stream = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "a b"}],
                                                      stream=True)
        return "".join([c.choices[0].delta.content or "" async for c in stream])

    assert asyncio.run(scenario()) == "You said: a b"


def test_bad_requests_get_openai_style_errors(server) -> None:
    with httpx.Client(base_url=server.url) as http:
        not_json = http.post("/v1/chat/completions", content=b"{nope", headers={"Content-Type": "application/json"})
        unknown = http.post("/v1/nothing", json={})
    assert not_json.status_code == 400
    assert "not valid JSON" in not_json.json()["error"]["message"]
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "not_found_error"


def test_a_failing_responder_is_a_500_that_says_why(server, client) -> None:
    def responder(request: ModelRequest) -> str:
        raise KeyError("no answer")

    server.responder = responder
    with pytest.raises(openai.InternalServerError, match="The responder raised KeyError"):
        _ask(client, "hi")


def test_stop_releases_the_port() -> None:
    server = LocalOpenAIServer().start()
    port = server.port
    server.stop()
    server.stop()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))
