"""Normalize the GenAI conventions of different tools into one set of promoted span columns.

Each promoted field is taken from the first convention that sets it, in this order:

1. ours / OpenInference (``otel_feedback.span_type`` wins over ``openinference.span.kind``),
2. MLflow (``mlflow.*``; MLflow JSON-encodes its attribute values),
3. Langfuse (``langfuse.observation.*``),
4. OpenLLMetry / Traceloop (``traceloop.*``, ``llm.*``, ``gen_ai.prompt.N.*``),
5. OpenTelemetry GenAI semantic conventions (``gen_ai.*``).

docs/storage.md has the full table. The raw attributes are always stored as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from otel_feedback_core.json_text import parse_json_text
from otel_feedback_collector.storage.otlp_values import to_json
from otel_feedback_collector.storage.value_bounds import token_count, token_total

UNKNOWN_SPAN_TYPE = "UNKNOWN"

_LANGFUSE_TYPES = {
    "generation": "LLM",
    "span": "CHAIN",
    "event": "UNKNOWN",
    "agent": "AGENT",
    "tool": "TOOL",
    "chain": "CHAIN",
    "retriever": "RETRIEVER",
    "evaluator": "EVALUATOR",
    "embedding": "EMBEDDING",
    "guardrail": "GUARDRAIL",
}
_TRACELOOP_KINDS = {
    "workflow": "CHAIN",
    "task": "CHAIN",
    "agent": "AGENT",
    "tool": "TOOL",
}
_LLM_REQUEST_TYPES = {
    "chat": "LLM",
    "completion": "LLM",
    "embedding": "EMBEDDING",
    "rerank": "RERANKER",
}
_GENAI_OPERATIONS = {
    "chat": "LLM",
    "text_completion": "LLM",
    "generate_content": "LLM",
    "embeddings": "EMBEDDING",
    "execute_tool": "TOOL",
    "invoke_agent": "AGENT",
    "create_agent": "AGENT",
}


# Every attribute key each convention's block below reads. A block none of whose keys a span
# has cannot change a field, so it is skipped: one set intersection (in C) per span instead of
# ~30 ``dict.get`` calls. A key read by a block must be in its table (tests/collector/storage/
# test_normalize_precedence.py compares every combination with the unskipped reference).
_OPENINFERENCE_KEYS = frozenset({
    "otel_feedback.span_type", "openinference.span.kind", "input.value", "output.value",
    "llm.model_name", "embedding.model_name", "llm.token_count.prompt",
    "llm.token_count.completion", "llm.token_count.total", "session.id", "user.id",
})
_MLFLOW_KEYS = frozenset({
    "mlflow.spanType", "mlflow.spanInputs", "mlflow.spanOutputs", "mlflow.llm.model",
    "mlflow.chat.tokenUsage",
})
_LANGFUSE_KEYS = frozenset({
    "langfuse.observation.type", "langfuse.observation.input", "langfuse.observation.output",
    "langfuse.trace.input", "langfuse.trace.output", "langfuse.observation.model.name",
    "langfuse.observation.usage_details", "langfuse.session.id", "langfuse.user.id",
})
_OPENLLMETRY_KEYS = frozenset({
    "traceloop.span.kind", "llm.request.type", "traceloop.entity.input",
    "traceloop.entity.output", "gen_ai.prompt.0.content", "gen_ai.completion.0.content",
    "gen_ai.usage.prompt_tokens", "llm.usage.prompt_tokens", "gen_ai.usage.completion_tokens",
    "llm.usage.completion_tokens", "llm.usage.total_tokens",
    "traceloop.association.properties.session_id", "traceloop.association.properties.user_id",
})
_GENAI_KEYS = frozenset({
    "gen_ai.operation.name", "gen_ai.input.messages", "gen_ai.tool.call.arguments",
    "gen_ai.prompt", "gen_ai.output.messages", "gen_ai.tool.call.result", "gen_ai.completion",
    "gen_ai.response.model", "gen_ai.request.model", "llm.response.model", "llm.request.model",
    "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.conversation.id",
    "enduser.id",
})
_CONVENTION_KEYS = (
    _OPENINFERENCE_KEYS | _MLFLOW_KEYS | _LANGFUSE_KEYS | _OPENLLMETRY_KEYS | _GENAI_KEYS
)


class NormalizedFields(NamedTuple):
    """The promoted columns derived from a span's attributes."""

    span_type: str
    input: str | None
    output: str | None
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    session_id: str | None
    user_id: str | None
    experiment: str | None


def normalize_span(
    attributes: Mapping[str, Any], resource_attributes: Mapping[str, Any]
) -> NormalizedFields:
    """Return the promoted columns for one span from its attributes and resource attributes."""
    get = attributes.get
    present = _CONVENTION_KEYS.intersection(attributes)
    span_type = input_text = output_text = model = session_id = user_id = None
    input_tokens = output_tokens = total_tokens = None

    if not present.isdisjoint(_OPENINFERENCE_KEYS):
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

    if not present.isdisjoint(_LANGFUSE_KEYS):
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

    if not present.isdisjoint(_OPENLLMETRY_KEYS):
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
            input_tokens = _first_int(
                get("gen_ai.usage.prompt_tokens"), get("llm.usage.prompt_tokens")
            )
        if output_tokens is None:
            output_tokens = _first_int(
                get("gen_ai.usage.completion_tokens"), get("llm.usage.completion_tokens")
            )
        if total_tokens is None:
            total_tokens = token_count(get("llm.usage.total_tokens"))
        session_id = session_id or _text(get("traceloop.association.properties.session_id"))
        user_id = user_id or _text(get("traceloop.association.properties.user_id"))

    if not present.isdisjoint(_GENAI_KEYS):
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


def _text(value: Any) -> str | None:
    """Return a value as column text: strings as they are, anything else as JSON."""
    if isinstance(value, str):  # nearly always: checked first
        return value or None
    if value is None:
        return None
    return to_json(value)


def _upper(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value).upper()


def _first_int(*values: Any) -> int | None:
    for value in values:
        number = token_count(value)
        if number is not None:
            return number
    return None


def _mlflow_value(value: Any) -> Any:
    """MLflow stores every attribute JSON-encoded (``"\\"LLM\\""``); decode when it is."""
    if isinstance(value, str) and value.startswith('"'):
        try:
            return parse_json_text(value)
        except ValueError:
            return value
    return value


def _json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.startswith("{"):
        try:
            decoded = parse_json_text(value)
        except ValueError:
            return {}
        return decoded if isinstance(decoded, dict) else {}
    return {}


def _indexed_messages(attributes: Mapping[str, Any], prefix: str) -> list[dict[str, Any]]:
    """Collect OpenLLMetry's ``gen_ai.prompt.0.role`` / ``.content`` pairs into a message list."""
    messages: list[dict[str, Any]] = []
    index = 0
    while f"{prefix}{index}.content" in attributes or f"{prefix}{index}.role" in attributes:
        message: dict[str, Any] = {}
        for field in ("role", "content"):
            value = attributes.get(f"{prefix}{index}.{field}")
            if value is not None:
                message[field] = value
        messages.append(message)
        index += 1
    return messages
