"""Span types: what a span *is* in a GenAI app (an LLM call, a retrieval, a tool call...)."""

from __future__ import annotations

from enum import Enum


class SpanType(str, Enum):
    """The type of a span, emitted as ``openinference.span.kind``.

    Members compare equal to their names as strings, so ``span_type="RETRIEVER"`` and
    ``span_type=SpanType.RETRIEVER`` are the same thing.
    """

    LLM = "LLM"
    CHAT_MODEL = "CHAT_MODEL"
    RETRIEVER = "RETRIEVER"
    TOOL = "TOOL"
    AGENT = "AGENT"
    CHAIN = "CHAIN"
    EMBEDDING = "EMBEDDING"
    RERANKER = "RERANKER"
    PARSER = "PARSER"
    GUARDRAIL = "GUARDRAIL"
    EVALUATOR = "EVALUATOR"
    UNKNOWN = "UNKNOWN"

    def __str__(self) -> str:
        return self.value


# OpenInference has no CHAT_MODEL or PARSER kind: readers of that convention get the nearest
# kind, and our own attribute (`otel_feedback.span_type`) keeps the precise one.
_OPENINFERENCE_KIND: dict[SpanType, str] = {
    SpanType.CHAT_MODEL: "LLM",
    SpanType.PARSER: "CHAIN",
}


def parse_span_type(value: SpanType | str | None) -> SpanType:
    """Return the ``SpanType`` for an enum member or its name (any case); ``None`` is UNKNOWN.

    Raises ``ValueError`` naming the accepted values for anything else.
    """
    if value is None:
        return SpanType.UNKNOWN
    if isinstance(value, SpanType):
        return value
    if isinstance(value, str):
        try:
            return SpanType(value.strip().upper())
        except ValueError:
            pass
    accepted = ", ".join(member.value for member in SpanType)
    raise ValueError(f"span_type must be a SpanType or one of {accepted}; got {value!r}")


def span_type_attributes(span_type: SpanType) -> dict[str, str]:
    """The attributes that declare ``span_type`` on a span, per DESIGN.md."""
    kind = _OPENINFERENCE_KIND.get(span_type)
    if kind is None:
        return {"openinference.span.kind": span_type.value}
    return {"openinference.span.kind": kind, "otel_feedback.span_type": span_type.value}
