"""Reading what a client call returned: response attributes and the output to capture.

Results are pydantic models from the openai package; we read them with ``getattr`` and
defaults, so a field that is missing in some openai release yields no attribute, not an error.
"""

from __future__ import annotations

from typing import Any

from otel_feedback.openai import _semconv as sc
from otel_feedback.openai._operations import ResultKind


def dump(model: Any) -> Any:
    """A JSON-ready dict of an openai pydantic object: the fields the server sent."""
    model_dump = getattr(model, "model_dump", None)
    if callable(model_dump):
        return model_dump(mode="json", exclude_unset=True, warnings=False)
    return model


def usage_attributes(input_tokens: Any, output_tokens: Any, cache_read: Any = None,
                     reasoning: Any = None) -> dict[str, Any]:
    """GenAI and OpenInference token counts (cached input and reasoning output too); missing counts are left out."""
    attributes: dict[str, Any] = {}
    if isinstance(cache_read, int) and not isinstance(cache_read, bool):
        attributes[sc.USAGE_CACHE_READ_INPUT_TOKENS] = cache_read
        attributes[sc.LLM_TOKEN_COUNT_CACHE_READ] = cache_read
    if isinstance(reasoning, int) and not isinstance(reasoning, bool):
        attributes[sc.USAGE_REASONING_OUTPUT_TOKENS] = reasoning
        attributes[sc.LLM_TOKEN_COUNT_REASONING] = reasoning
    if isinstance(input_tokens, int):
        attributes[sc.USAGE_INPUT_TOKENS] = input_tokens
        attributes[sc.LLM_TOKEN_COUNT_PROMPT] = input_tokens
    if isinstance(output_tokens, int):
        attributes[sc.USAGE_OUTPUT_TOKENS] = output_tokens
        attributes[sc.LLM_TOKEN_COUNT_COMPLETION] = output_tokens
    if isinstance(input_tokens, int) and isinstance(output_tokens, int):
        attributes[sc.LLM_TOKEN_COUNT_TOTAL] = input_tokens + output_tokens
    elif isinstance(input_tokens, int):
        attributes[sc.LLM_TOKEN_COUNT_TOTAL] = input_tokens
    return attributes


def chat_usage_attributes(usage: Any) -> dict[str, Any]:
    """Token counts of a Chat Completions (or legacy completions) ``usage``, with its details."""
    return usage_attributes(
        getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None),
        getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", None),
        getattr(getattr(usage, "completion_tokens_details", None), "reasoning_tokens", None),
    )


def responses_usage_attributes(usage: Any) -> dict[str, Any]:
    """Token counts of a Responses API ``usage``, with its details."""
    return usage_attributes(
        getattr(usage, "input_tokens", None), getattr(usage, "output_tokens", None),
        getattr(getattr(usage, "input_tokens_details", None), "cached_tokens", None),
        getattr(getattr(usage, "output_tokens_details", None), "reasoning_tokens", None),
    )


def identity_attributes(response_id: Any, model: Any, model_key: str = sc.LLM_MODEL_NAME) -> dict[str, Any]:
    """``gen_ai.response.id`` and ``gen_ai.response.model`` (and ``llm.model_name``, or
    ``model_key``: ``embedding.model_name`` for embeddings)."""
    attributes: dict[str, Any] = {}
    if isinstance(response_id, str) and response_id:
        attributes[sc.RESPONSE_ID] = response_id
    if isinstance(model, str) and model:
        attributes[sc.RESPONSE_MODEL] = model
        attributes[model_key] = model
    return attributes


def finish_reason_attributes(reasons: list[Any]) -> dict[str, Any]:
    """``gen_ai.response.finish_reasons`` from the reasons that are known."""
    known = [str(reason) for reason in reasons if reason]
    return {sc.RESPONSE_FINISH_REASONS: known} if known else {}


def chat_attributes(result: Any) -> dict[str, Any]:
    """Attributes of a ``ChatCompletion`` (or a legacy ``Completion``: same fields)."""
    usage = getattr(result, "usage", None)
    choices = getattr(result, "choices", None) or []
    return {
        **identity_attributes(getattr(result, "id", None), getattr(result, "model", None)),
        **finish_reason_attributes([getattr(choice, "finish_reason", None) for choice in choices]),
        **chat_usage_attributes(usage),
    }


def embedding_attributes(result: Any) -> dict[str, Any]:
    """Attributes of a ``CreateEmbeddingResponse``: model, input tokens and vector size."""
    usage = getattr(result, "usage", None)
    attributes = {
        **identity_attributes(None, getattr(result, "model", None), sc.EMBEDDING_MODEL_NAME),
        **usage_attributes(getattr(usage, "prompt_tokens", None), None),
    }
    data = getattr(result, "data", None) or []
    vector = getattr(data[0], "embedding", None) if data else None
    if isinstance(vector, list):
        attributes[sc.EMBEDDINGS_DIMENSION_COUNT] = len(vector)
    return attributes


def embedding_output(result: Any) -> dict[str, Any]:
    """A summary of an embeddings result: the vectors' sizes, not the vectors themselves."""
    data = getattr(result, "data", None) or []
    usage = getattr(result, "usage", None)
    return {
        "model": getattr(result, "model", None),
        "data": [
            {"index": getattr(item, "index", None), "dimensions": len(getattr(item, "embedding", None) or ())}
            for item in data
        ],
        "usage": dump(usage) if usage is not None else None,
    }


def response_finish_reasons(result: Any) -> list[str]:
    """Finish reasons for a Responses API ``Response``, in Chat Completions terms."""
    status = getattr(result, "status", None)
    if status == "incomplete":
        details = getattr(result, "incomplete_details", None)
        return [str(getattr(details, "reason", None) or "incomplete")]
    if status == "failed":
        return ["error"]
    if status != "completed":
        return []
    output = getattr(result, "output", None) or []
    if any(getattr(item, "type", None) == "function_call" for item in output):
        return ["tool_calls"]
    return ["stop"]


def response_attributes(result: Any) -> dict[str, Any]:
    """Attributes of a Responses API ``Response``."""
    usage = getattr(result, "usage", None)
    return {
        **identity_attributes(getattr(result, "id", None), getattr(result, "model", None)),
        **finish_reason_attributes(response_finish_reasons(result)),
        **responses_usage_attributes(usage),
    }


def result_attributes(kind: ResultKind, result: Any) -> dict[str, Any]:
    """The response attributes for a non-streamed ``result`` of a call of ``kind``."""
    if kind is ResultKind.EMBEDDING:
        return embedding_attributes(result)
    if kind is ResultKind.RESPONSE:
        return response_attributes(result)
    return chat_attributes(result)


def result_output(kind: ResultKind, result: Any) -> Any:
    """What to capture as ``output.value`` for a non-streamed ``result``."""
    if kind is ResultKind.EMBEDDING:
        return embedding_output(result)
    return dump(result)
