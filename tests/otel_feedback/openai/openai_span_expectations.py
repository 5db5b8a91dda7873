"""Expected-attribute helpers shared by the OpenAI instrumentation tests."""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from otel_feedback_testing import LocalOpenAIServer


def base_attributes(server: LocalOpenAIServer, *, api: str, model: str, operation: str = "chat",
                    span_type: str | None = "CHAT_MODEL", kind: str = "LLM") -> dict[str, Any]:
    """The attributes every span of one client method carries before the response is read."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": "openai",
        "gen_ai.system": "openai",
        "otel_feedback.openai.api": api,
        "llm.provider": "openai",
        "llm.system": "openai",
        "openinference.span.kind": kind,
        "gen_ai.request.model": model,
        "embedding.model_name" if kind == "EMBEDDING" else "llm.model_name": model,
        "server.address": "127.0.0.1",
        "server.port": server.port,
    }
    if span_type is not None:
        attributes["otel_feedback.span_type"] = span_type
    return attributes


def usage(prompt: int, completion: int) -> dict[str, Any]:
    """The token-count attributes for ``prompt`` input and ``completion`` output tokens."""
    return {
        "gen_ai.usage.input_tokens": prompt,
        "llm.token_count.prompt": prompt,
        "gen_ai.usage.output_tokens": completion,
        "llm.token_count.completion": completion,
        "llm.token_count.total": prompt + completion,
    }


# Attributes that carry content, compared separately (content_attributes / messages_of).
CONTENT_KEYS = ("input.value", "output.value", "gen_ai.input.messages", "gen_ai.output.messages",
                "gen_ai.system_instructions", "gen_ai.tool.definitions")
CONTENT_PREFIXES = ("llm.input_messages.", "llm.output_messages.", "llm.tools.", "embedding.embeddings.")


def is_content(key: str) -> bool:
    """Whether ``key`` is an attribute that is recorded only with content capture on."""
    return key in CONTENT_KEYS or key.startswith(CONTENT_PREFIXES)


def content_attributes(span: ReadableSpan) -> dict[str, Any]:
    """The span's content attributes but input/output values (the GenAI and OpenInference messages)."""
    return {key: value for key, value in (span.attributes or {}).items()
            if is_content(key) and key not in ("input.value", "output.value")}


def params(**parameters: Any) -> dict[str, Any]:
    """``llm.invocation_parameters`` as the instrumentation writes it (JSON of the given arguments)."""
    return {"llm.invocation_parameters": json.dumps(parameters, ensure_ascii=False)}


TTFC = "gen_ai.response.time_to_first_chunk"
# What attributes_without_content puts in place of a time to first chunk that is within the span.
MEASURED = "<seconds within the span>"
FIRST_CHUNK = {TTFC: MEASURED}


def cached_and_reasoning(cached: int, reasoning: int) -> dict[str, Any]:
    """The cached-input and reasoning-output token counts, in both conventions."""
    return {
        "gen_ai.usage.cache_read.input_tokens": cached,
        "llm.token_count.prompt_details.cache_read": cached,
        "gen_ai.usage.reasoning.output_tokens": reasoning,
        "llm.token_count.completion_details.reasoning": reasoning,
    }


def attributes_without_content(span: ReadableSpan) -> dict[str, Any]:
    """The span's attributes with content taken out (compared separately); a time to first chunk
    is checked to lie within the span and replaced by ``MEASURED``."""
    attributes = {key: value for key, value in (span.attributes or {}).items() if not is_content(key)}
    if TTFC in attributes:
        seconds = attributes[TTFC]
        assert isinstance(seconds, float) and 0 < seconds <= (span.end_time - span.start_time) / 1e9
        attributes[TTFC] = MEASURED
    return {key: list(value) if isinstance(value, tuple) else value for key, value in attributes.items()}


def input_of(span: ReadableSpan) -> Any:
    """``input.value`` parsed as JSON (asserting the mime type says JSON)."""
    assert span.attributes["input.mime_type"] == "application/json"
    return json.loads(span.attributes["input.value"])


def output_of(span: ReadableSpan) -> Any:
    """``output.value`` parsed as JSON (asserting the mime type says JSON)."""
    assert span.attributes["output.mime_type"] == "application/json"
    return json.loads(span.attributes["output.value"])
