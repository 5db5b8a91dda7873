"""The app the vibe-check tests chat with through ``otel-feedback chat-app vibe_app:answer``.

A ``@trace`` root that streams, a RETRIEVER span and an LLM call (the OpenAI instrumentor) to
the stand-in model at ``$OPENAI_BASE_URL``. A question containing "fail" makes it raise.
"""

from __future__ import annotations

from collections.abc import Iterator

import openai

from otel_feedback import trace
from otel_feedback.openai import autolog

autolog()
client = openai.OpenAI(max_retries=0)  # OPENAI_BASE_URL and OPENAI_API_KEY come from the test


@trace(span_type="RETRIEVER")
def retrieve(question: str) -> str:
    if "fail" in question:
        raise RuntimeError("the knowledge base is offline")
    return f"Parquet is a columnar file format. You asked: {question}"


@trace
def answer(question: str) -> Iterator[str]:
    context = retrieve(question)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", stream=True,
        messages=[{"role": "system", "content": "Answer from the context."},
                  {"role": "user", "content": f"Context: {context}\n\nQuestion: {question}"}],
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content
