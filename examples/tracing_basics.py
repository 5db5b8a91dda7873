"""Tracing a small RAG chatbot with otel-feedback, printed as a span tree.

Runs anywhere with no network: the spans go to an in-memory exporter on the app's own
TracerProvider (otel-feedback uses a provider the app already has and changes nothing about
it), and the script prints the trace it recorded. Point ``configure()`` at a collector instead
(``otel_feedback.configure("http://127.0.0.1:4318")``) to store the traces.

Run: ``.venv/bin/python examples/tracing_basics.py``
"""

from __future__ import annotations

import json
import time

from opentelemetry import trace as trace_api
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_feedback
from otel_feedback import SpanType, trace

DOCUMENTS = {
    "tracing": "Tracing records each step of a request as a span: inputs, outputs, timing.",
    "feedback": "Feedback is a judgement attached to a trace: a thumbs-up, a score, a label.",
    "opentelemetry": "OpenTelemetry is the open standard for traces, metrics and logs.",
}


@trace(span_type=SpanType.RETRIEVER)
def retrieve(question: str, k: int = 2) -> list[dict[str, str]]:
    """Keyword retrieval over a tiny corpus."""
    words = set(question.lower().replace("?", "").split())
    ranked = sorted(DOCUMENTS.items(), key=lambda item: -len(words & set(item[1].lower().split())))
    return [{"id": doc_id, "text": text} for doc_id, text in ranked[:k]]


@trace(span_type=SpanType.LLM, attributes={"gen_ai.request.model": "stand-in"})
def generate(question: str, context: list[dict[str, str]]) -> str:
    """A stand-in for the LLM call: answers from the first retrieved document."""
    time.sleep(0.01)
    return f"{context[0]['text']} (answering: {question})"


@trace(output_reducer="".join)
def stream_answer(answer: str):
    """Streams an answer word by word; the span's output is the whole text."""
    for word in answer.split(" "):
        yield word + " "


@trace
def chatbot(question: str, user: str) -> str:
    otel_feedback.update_current_trace(user=user, session="demo-session", metadata={"channel": "cli"})
    docs = retrieve(question)
    return "".join(stream_answer(generate(question, docs))).strip()


def print_tree(spans: list[ReadableSpan]) -> None:
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in spans:
        children.setdefault(span.parent.span_id if span.parent else None, []).append(span)

    def show(span: ReadableSpan, depth: int) -> None:
        attributes = span.attributes or {}
        duration_ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
        kind = attributes.get("openinference.span.kind", "?")
        print(f"{'  ' * depth}- {span.name} [{kind}] {duration_ms:.1f} ms")
        for key in ("input.value", "output.value"):
            if key in attributes:
                text = str(attributes[key])
                print(f"{'  ' * depth}    {key}: {text[:90]}{'…' if len(text) > 90 else ''}")
        for child in sorted(children.get(span.context.span_id, []), key=lambda s: s.start_time or 0):
            show(child, depth + 1)

    for root in children.get(None, []):
        show(root, 0)


def main() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "tracing-basics"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace_api.set_tracer_provider(provider)  # the app's own provider: configure() keeps it
    config = otel_feedback.configure(experiment="tracing-basics")
    assert not config.installed_provider

    answer = chatbot("What is tracing?", user="enduser_123")
    trace_id = otel_feedback.get_last_active_trace_id()
    print(f"answer: {answer}")
    print(f"trace id: {trace_id}\n")
    print_tree(list(exporter.get_finished_spans()))
    root = next(s for s in exporter.get_finished_spans() if s.parent is None)
    print(f"\nroot attributes: {json.dumps({k: root.attributes[k] for k in ('user.id', 'session.id', 'metadata')})}")


if __name__ == "__main__":
    main()
