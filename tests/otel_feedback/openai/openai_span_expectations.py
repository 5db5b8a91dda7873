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
        "openinference.span.kind": kind,
        "gen_ai.request.model": model,
        "llm.model_name": model,
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


def attributes_without_content(span: ReadableSpan) -> dict[str, Any]:
    """The span's attributes with input/output values parsed out (compared separately)."""
    attributes = dict(span.attributes or {})
    for key in ("input.value", "output.value"):
        attributes.pop(key, None)
    return {key: list(value) if isinstance(value, tuple) else value for key, value in attributes.items()}


def input_of(span: ReadableSpan) -> Any:
    """``input.value`` parsed as JSON (asserting the mime type says JSON)."""
    assert span.attributes["input.mime_type"] == "application/json"
    return json.loads(span.attributes["input.value"])


def output_of(span: ReadableSpan) -> Any:
    """``output.value`` parsed as JSON (asserting the mime type says JSON)."""
    assert span.attributes["output.mime_type"] == "application/json"
    return json.loads(span.attributes["output.value"])
