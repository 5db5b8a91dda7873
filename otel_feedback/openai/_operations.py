"""The client methods we trace and what kind of call each one is."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from enum import Enum
from typing import Any

from otel_feedback._span_types import SpanType
from otel_feedback._tracing import _static_attributes
from otel_feedback.openai import _semconv as sc


class ResultKind(str, Enum):
    """The shape of what a method returns, which decides how it is read."""

    CHAT = "chat"
    COMPLETION = "completion"
    EMBEDDING = "embedding"
    RESPONSE = "response"


@dataclass(frozen=True)
class Operation:
    """One traced client method: its GenAI operation name, span type and result shape."""

    api: str
    operation_name: str
    span_type: SpanType
    result_kind: ResultKind

    @cached_property
    def static_attributes(self) -> dict[str, Any]:
        """Attributes every span of this operation carries, whatever the request (do not mutate)."""
        return _static_attributes(
            self.span_type,
            {
                sc.OPERATION_NAME: self.operation_name,
                sc.PROVIDER_NAME: sc.PROVIDER,
                sc.SYSTEM: sc.PROVIDER,
                sc.OPENAI_API: self.api,
                sc.LLM_PROVIDER: sc.PROVIDER,
                sc.LLM_SYSTEM: sc.PROVIDER,
            },
        )


# Chat-style calls are CHAT_MODEL (OpenInference kind LLM, our span_type CHAT_MODEL), as
# MLflow types them; the legacy text completion is LLM; embeddings are EMBEDDING.
CHAT_CREATE = Operation("chat.completions.create", "chat", SpanType.CHAT_MODEL, ResultKind.CHAT)
CHAT_PARSE = Operation("chat.completions.parse", "chat", SpanType.CHAT_MODEL, ResultKind.CHAT)
COMPLETIONS_CREATE = Operation("completions.create", "text_completion", SpanType.LLM, ResultKind.COMPLETION)
EMBEDDINGS_CREATE = Operation("embeddings.create", "embeddings", SpanType.EMBEDDING, ResultKind.EMBEDDING)
RESPONSES_CREATE = Operation("responses.create", "chat", SpanType.CHAT_MODEL, ResultKind.RESPONSE)
RESPONSES_PARSE = Operation("responses.parse", "chat", SpanType.CHAT_MODEL, ResultKind.RESPONSE)


@dataclass(frozen=True)
class Target:
    """Where a traced method lives: ``module.class_name.method``."""

    module: str
    class_name: str
    method: str
    operation: Operation


def _both(module: str, sync_class: str, async_class: str, method: str, operation: Operation) -> tuple[Target, ...]:
    return (Target(module, sync_class, method, operation), Target(module, async_class, method, operation))


# Targets whose module or class is missing in the installed openai are skipped, so one list
# covers 1.x (where ``parse`` lived under ``beta``) and later majors.
TARGETS: tuple[Target, ...] = (
    *_both("openai.resources.chat.completions", "Completions", "AsyncCompletions", "create", CHAT_CREATE),
    *_both("openai.resources.chat.completions", "Completions", "AsyncCompletions", "parse", CHAT_PARSE),
    *_both("openai.resources.beta.chat.completions", "Completions", "AsyncCompletions", "parse", CHAT_PARSE),
    *_both("openai.resources.completions", "Completions", "AsyncCompletions", "create", COMPLETIONS_CREATE),
    *_both("openai.resources.embeddings", "Embeddings", "AsyncEmbeddings", "create", EMBEDDINGS_CREATE),
    *_both("openai.resources.responses", "Responses", "AsyncResponses", "create", RESPONSES_CREATE),
    *_both("openai.resources.responses", "Responses", "AsyncResponses", "parse", RESPONSES_PARSE),
)
