"""The tutorial's chatbot: a ``@trace`` root, a RETRIEVER child, and one LLM call.

The same code runs against a real OpenAI-compatible model or against the local stand-in server;
``stand_in_responder`` is what the stand-in answers with (the first sentences of the retrieved
context), so the demo's answers are deterministic and plausible without a model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from otel_feedback import trace
from otel_feedback_testing import ModelRequest

SYSTEM_PROMPT = "You are a helpful assistant. Use the provided context to answer questions."

KNOWLEDGE: dict[str, str] = {
    "opentelemetry": (
        "OpenTelemetry is an open standard and set of SDKs for traces, metrics and logs. "
        "Any OTLP backend can receive its data, so instrumentation is written once."
    ),
    "otel-feedback": (
        "otel-feedback traces GenAI apps with OpenTelemetry and stores the spans as Parquet files. "
        "End users, developers and domain experts add feedback and expectations to the traces, "
        "and new versions of the app are evaluated against them."
    ),
    "parquet": (
        "Parquet is an open columnar file format. DuckDB, Polars, Spark and Trino read it "
        "directly, so traces stored as Parquet can be queried with plain SQL."
    ),
    "feedback": (
        "Feedback is a judgement attached to a trace: a thumbs-up or down from an end user, a "
        "score from a developer, or a verdict from an LLM judge, each with its source."
    ),
}
GENERAL_CONTEXT = "General information about machine learning and data science."

TUTORIAL_QUESTIONS: tuple[str, ...] = (
    "What is otel-feedback?",
    "What is OpenTelemetry?",
    "Why store traces as Parquet?",
    "What counts as feedback?",
)


@trace(span_type="RETRIEVER")
def retrieve_context(query: str) -> str:
    """Simulated retrieval: in production this would search a vector database."""
    lowered = query.lower()
    for keyword, passage in KNOWLEDGE.items():
        if keyword in lowered:
            return passage
    return GENERAL_CONTEXT


def make_chatbot(client: Any, model: str) -> Callable[[str], str]:
    """The tutorial's ``my_chatbot`` bound to an OpenAI client and a model name."""

    @trace
    def my_chatbot(user_question: str) -> str:
        context = retrieve_context(user_question)
        response = client.chat.completions.create(
            model=model,
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": f"Context: {context}\n\nQuestion: {user_question}"},
            ],
            temperature=0.7,
            max_tokens=150,
        )
        return response.choices[0].message.content

    return my_chatbot


_CONTEXT = re.compile(r"Context:\s*(?P<context>.*?)\n\nQuestion:", re.DOTALL)


def stand_in_responder(request: ModelRequest) -> str:
    """Answer from the first sentence of the context in the prompt (what the stand-in says)."""
    found = _CONTEXT.search(request.last_user_message)
    if found is None:
        return "I can only answer questions that come with context."
    first_sentence = found.group("context").strip().split(". ")[0].rstrip(".")
    return f"{first_sentence}."
