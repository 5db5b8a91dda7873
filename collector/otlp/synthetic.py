"""Synthetic GenAI-shaped OTLP traces for the ingest benchmark, load tests and demos.

Each trace has three spans the way an instrumented RAG app emits them: a CHAIN root, a RETRIEVER
child and an LLM child with the OpenInference and OTel GenAI attributes and about ``text_bytes``
of input and of output text.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

_WORDS = (
    "the retriever found three passages about parquet row groups and the model summarised them "
    "for the user who asked how durable writes survive a crash of the collector process "
).split()


def _text(size: int, salt: int) -> str:
    words: list[str] = []
    length = 0
    index = salt
    while length < size:
        word = _WORDS[index % len(_WORDS)]
        words.append(word)
        length += len(word) + 1
        index += 7
    return " ".join(words)[:size]


def _attr(key: str, value: str | int) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def genai_trace_request(
    traces: int,
    *,
    text_bytes: int = 1500,
    service_name: str = "rag-demo",
    start_unix_nano: int | None = None,
    texts: Sequence[str] | None = None,
) -> ExportTraceServiceRequest:
    """Return an export request holding ``traces`` three-span GenAI traces with fresh random ids.

    With ``texts``, each trace takes its question and answer from it (consecutive entries,
    rotating), so the stored text is not one repeated string (which compresses unrealistically
    well); without, every trace asks and answers the same ``text_bytes`` of text.
    """
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(_attr("service.name", service_name))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "otel_feedback.synthetic"
    start = start_unix_nano if start_unix_nano is not None else time.time_ns()
    question = _text(text_bytes, 1)
    answer = _text(text_bytes, 2)
    for index in range(traces):
        if texts:
            question = texts[(2 * index) % len(texts)]
            answer = texts[(2 * index + 1) % len(texts)]
        ids = os.urandom(16 + 3 * 8)
        trace_id, root_id, retriever_id, llm_id = ids[:16], ids[16:24], ids[24:32], ids[32:40]
        t0 = start + index * 1_000
        root = Span(
            trace_id=trace_id,
            span_id=root_id,
            name="answer_question",
            kind=Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=t0,
            end_time_unix_nano=t0 + 900_000_000,
            attributes=[
                _attr("openinference.span.kind", "CHAIN"),
                _attr("input.value", question[:200]),
                _attr("output.value", answer[:200]),
                _attr("session.id", f"session-{index % 50}"),
                _attr("user.id", f"user-{index % 200}"),
            ],
        )
        retriever = Span(
            trace_id=trace_id,
            span_id=retriever_id,
            parent_span_id=root_id,
            name="retrieve_documents",
            kind=Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=t0 + 1_000_000,
            end_time_unix_nano=t0 + 51_000_000,
            attributes=[
                _attr("openinference.span.kind", "RETRIEVER"),
                _attr("input.value", question[:200]),
                _attr("retrieval.documents.0.document.content", answer[:300]),
            ],
        )
        llm = Span(
            trace_id=trace_id,
            span_id=llm_id,
            parent_span_id=root_id,
            name="chat gpt-4o-mini",
            kind=Span.SPAN_KIND_CLIENT,
            start_time_unix_nano=t0 + 60_000_000,
            end_time_unix_nano=t0 + 880_000_000,
            attributes=[
                _attr("openinference.span.kind", "LLM"),
                _attr("gen_ai.operation.name", "chat"),
                _attr("gen_ai.provider.name", "openai"),
                _attr("gen_ai.request.model", "gpt-4o-mini"),
                _attr("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
                _attr("gen_ai.usage.input_tokens", 350 + index % 13),
                _attr("gen_ai.usage.output_tokens", 320 + index % 11),
                _attr("input.value", question),
                _attr("output.value", answer),
            ],
        )
        scope_spans.spans.extend((root, retriever, llm))
    return request
