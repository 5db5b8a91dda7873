"""``normalize_span`` as it was before its per-convention fast path, kept verbatim as the
reference that tests/collector/storage/test_normalize_precedence.py compares the real one with:
every convention's block runs for every span, so which value wins is plain to read here."""

# ruff: noqa
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otel_feedback_collector.storage.normalize import (
    _GENAI_OPERATIONS,
    _LANGFUSE_TYPES,
    _LLM_REQUEST_TYPES,
    _TRACELOOP_KINDS,
    UNKNOWN_SPAN_TYPE,
    NormalizedFields,
    _first_int,
    _indexed_messages,
    _json_object,
    _mlflow_value,
    _text,
    _upper,
)
from otel_feedback_collector.storage.otlp_values import to_json
from otel_feedback_collector.storage.value_bounds import token_count, token_total


def reference_normalize_span(
    attributes: Mapping[str, Any], resource_attributes: Mapping[str, Any]
) -> NormalizedFields:
    """Return the promoted columns for one span from its attributes and resource attributes."""
    get = attributes.get
    span_type = _upper(get("otel_feedback.span_type")) or _upper(get("openinference.span.kind"))
    input_text = _text(get("input.value"))
    output_text = _text(get("output.value"))
    model = _text(get("llm.model_name")) or _text(get("embedding.model_name"))
    input_tokens = token_count(get("llm.token_count.prompt"))
    output_tokens = token_count(get("llm.token_count.completion"))
    total_tokens = token_count(get("llm.token_count.total"))
    session_id = _text(get("session.id"))
    user_id = _text(get("user.id"))

    if "mlflow.spanType" in attributes or "mlflow.spanInputs" in attributes:
        span_type = span_type or _upper(_mlflow_value(get("mlflow.spanType")))
        input_text = input_text or _text(get("mlflow.spanInputs"))
        output_text = output_text or _text(get("mlflow.spanOutputs"))
        model = model or _text(_mlflow_value(get("mlflow.llm.model")))
        usage = _json_object(get("mlflow.chat.tokenUsage"))
        input_tokens = _first_int(input_tokens, usage.get("input_tokens"))
        output_tokens = _first_int(output_tokens, usage.get("output_tokens"))
        total_tokens = _first_int(total_tokens, usage.get("total_tokens"))

    observation_type = get("langfuse.observation.type")
    if observation_type is not None or "langfuse.trace.input" in attributes:
        if observation_type is not None:
            span_type = span_type or _LANGFUSE_TYPES.get(str(observation_type).lower())
        input_text = (
            input_text
            or _text(get("langfuse.observation.input"))
            or _text(get("langfuse.trace.input"))
        )
        output_text = (
            output_text
            or _text(get("langfuse.observation.output"))
            or _text(get("langfuse.trace.output"))
        )
        model = model or _text(get("langfuse.observation.model.name"))
        usage = _json_object(get("langfuse.observation.usage_details"))
        input_tokens = _first_int(input_tokens, usage.get("input"), usage.get("prompt_tokens"))
        output_tokens = _first_int(
            output_tokens, usage.get("output"), usage.get("completion_tokens")
        )
        total_tokens = _first_int(total_tokens, usage.get("total"), usage.get("total_tokens"))
    session_id = session_id or _text(get("langfuse.session.id"))
    user_id = user_id or _text(get("langfuse.user.id"))

    traceloop_kind = get("traceloop.span.kind")
    request_type = get("llm.request.type")
    if traceloop_kind is not None:
        span_type = span_type or _TRACELOOP_KINDS.get(str(traceloop_kind).lower())
    if request_type is not None:
        span_type = span_type or _LLM_REQUEST_TYPES.get(str(request_type).lower())
    input_text = input_text or _text(get("traceloop.entity.input"))
    output_text = output_text or _text(get("traceloop.entity.output"))
    if input_text is None and "gen_ai.prompt.0.content" in attributes:
        input_text = to_json(_indexed_messages(attributes, "gen_ai.prompt."))
    if output_text is None and "gen_ai.completion.0.content" in attributes:
        output_text = to_json(_indexed_messages(attributes, "gen_ai.completion."))
    if input_tokens is None:
        input_tokens = _first_int(get("gen_ai.usage.prompt_tokens"), get("llm.usage.prompt_tokens"))
    if output_tokens is None:
        output_tokens = _first_int(
            get("gen_ai.usage.completion_tokens"), get("llm.usage.completion_tokens")
        )
    if total_tokens is None:
        total_tokens = token_count(get("llm.usage.total_tokens"))
    session_id = session_id or _text(get("traceloop.association.properties.session_id"))
    user_id = user_id or _text(get("traceloop.association.properties.user_id"))

    operation = get("gen_ai.operation.name")
    if operation is not None:
        span_type = span_type or _GENAI_OPERATIONS.get(str(operation).lower())
    input_text = (
        input_text
        or _text(get("gen_ai.input.messages"))
        or _text(get("gen_ai.tool.call.arguments"))
        or _text(get("gen_ai.prompt"))
    )
    output_text = (
        output_text
        or _text(get("gen_ai.output.messages"))
        or _text(get("gen_ai.tool.call.result"))
        or _text(get("gen_ai.completion"))
    )
    model = (
        model
        or _text(get("gen_ai.response.model"))
        or _text(get("gen_ai.request.model"))
        or _text(get("llm.response.model"))
        or _text(get("llm.request.model"))
    )
    if input_tokens is None:
        input_tokens = token_count(get("gen_ai.usage.input_tokens"))
    if output_tokens is None:
        output_tokens = token_count(get("gen_ai.usage.output_tokens"))
    session_id = session_id or _text(get("gen_ai.conversation.id"))
    user_id = user_id or _text(get("enduser.id"))

    if total_tokens is None:
        total_tokens = token_total(input_tokens, output_tokens)
    experiment = (
        _text(get("otel_feedback.experiment"))
        or _text(resource_attributes.get("otel_feedback.experiment"))
        or _text(resource_attributes.get("service.name"))
    )
    return NormalizedFields(
        span_type or UNKNOWN_SPAN_TYPE,
        input_text,
        output_text,
        model,
        input_tokens,
        output_tokens,
        total_tokens,
        session_id,
        user_id,
        experiment,
    )

