"""Turning tracing on and off: double instrumentation, exact restore, content capture switches."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

import pytest
from openai_span_expectations import is_content
from openai.resources.chat.completions import AsyncCompletions, Completions
from openai.resources.embeddings import Embeddings
from openai.resources.responses import AsyncResponses, Responses

from otel_feedback import _config
from otel_feedback.openai import OpenAIInstrumentor, autolog
from otel_feedback.openai._instrumentor import capture_content_from_env

MESSAGES = [{"role": "user", "content": "a secret message"}]
TRACED = [(Completions, "create"), (AsyncCompletions, "create"), (Completions, "parse"),
          (Embeddings, "create"), (Responses, "create"), (AsyncResponses, "parse")]


def test_uninstrument_restores_the_exact_originals_and_stops_spans(client, spans) -> None:
    originals = {(cls, name): cls.__dict__[name] for cls, name in TRACED}
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument()
    assert all(cls.__dict__[name] is not originals[(cls, name)] for cls, name in TRACED)
    assert all(cls.__dict__[name].__wrapped__ is originals[(cls, name)] for cls, name in TRACED)

    instrumentor.uninstrument()

    assert all(cls.__dict__[name] is originals[(cls, name)] for cls, name in TRACED)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    client.embeddings.create(model="text-embedding-3-small", input="x")
    assert spans.all() == []


def test_instrumenting_twice_warns_and_traces_each_call_once(client, spans, caplog) -> None:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument()
    wrapped = Completions.__dict__["create"]
    try:
        with caplog.at_level(logging.WARNING):
            OpenAIInstrumentor().instrument()
            autolog()
        assert Completions.__dict__["create"] is wrapped
        assert caplog.text.count("already instrumented") == 2
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert len(spans.named("chat gpt-4o-mini")) == 1
    finally:
        instrumentor.uninstrument()


def test_autolog_disable_turns_tracing_off(client, spans) -> None:
    autolog()
    autolog(disable=True)

    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert spans.all() == []
    assert not OpenAIInstrumentor().is_instrumented_by_opentelemetry


def _assert_no_content(spans) -> None:
    for span in spans.all():
        for value in span.attributes.values():
            assert "secret" not in str(value) and "Hello" not in str(value)
        assert [key for key in span.attributes if is_content(key)] == []  # messages, tools, embedded texts


def test_capture_content_off_by_argument_keeps_text_out_of_every_attribute(client, spans) -> None:
    autolog(capture_content=False)
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
        client.responses.create(model="gpt-4o-mini", input="a secret message", instructions="secret rules",
                                tools=[{"type": "function", "name": "secret_tool", "parameters": {}}])
        client.embeddings.create(model="text-embedding-3-small", input="a secret text")
    finally:
        autolog(disable=True)

    assert len(spans.named("embeddings text-embedding-3-small")) == 1
    found = spans.named("chat gpt-4o-mini")
    assert len(found) == 3
    assert all(span.attributes["gen_ai.response.id"] for span in found)
    assert found[0].attributes["gen_ai.usage.input_tokens"] == 3
    _assert_no_content(spans)


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, True),
        ({"OTEL_FEEDBACK_CAPTURE_CONTENT": "false"}, False),
        ({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "false"}, False),
        ({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}, True),
        ({"OTEL_FEEDBACK_CAPTURE_CONTENT": "true", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "false"},
         True),
        ({"OTEL_FEEDBACK_CAPTURE_CONTENT": "maybe"}, True),
    ],
)
def test_capture_content_from_env(monkeypatch, variables, expected) -> None:
    monkeypatch.delenv("OTEL_FEEDBACK_CAPTURE_CONTENT", raising=False)
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert capture_content_from_env() is expected


def test_capture_content_off_by_env_var(client, spans, monkeypatch) -> None:
    monkeypatch.setenv("OTEL_FEEDBACK_CAPTURE_CONTENT", "false")
    autolog()
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        autolog(disable=True)

    assert len(spans.all()) == 1
    _assert_no_content(spans)


def test_tracing_disabled_calls_straight_through(client, spans, monkeypatch) -> None:
    monkeypatch.setattr(_config.settings, "enabled", False)
    autolog()
    try:
        completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        autolog(disable=True)

    assert completion.choices[0].message.content == "You said: a secret message"
    assert spans.all() == []


def test_entry_point_names_the_instrumentor_apart_from_the_others() -> None:
    ours = [ep for ep in entry_points(group="opentelemetry_instrumentor")
            if ep.value == "otel_feedback.openai:OpenAIInstrumentor"]
    # Not "openai" (OpenInference's and OpenLLMetry's name): each can be disabled on its own.
    assert [ep.name for ep in ours] == ["otel_feedback_openai"]
    assert ours[0].load() is OpenAIInstrumentor
