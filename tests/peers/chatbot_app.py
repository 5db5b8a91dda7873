"""A small traced chatbot, run as its own process, that sends its spans and feedback to a peer.

Run with the project's interpreter: ``python chatbot_app.py ENDPOINT [HEADER=VALUE ...]``. It
is what a new user writes: ``configure()`` pointed at the tool's OTLP/HTTP base URL, a ``@trace``
root, a retriever returning documents, the real ``openai`` client (instrumented by ours) against
the local stand-in model server, then ``log_feedback`` on the trace a while later. It prints one
JSON object: the trace id, the question, the documents, the model and the answer.

A process of its own because ``configure()`` installs a provider only in a process that has
none; the test process already has the in-memory one from tests/conftest.py.
"""

from __future__ import annotations

import json
import sys
import time

from openai import OpenAI

import otel_feedback
from otel_feedback import SpanType, get_current_trace_id, log_feedback, trace
from otel_feedback.openai import autolog
from otel_feedback_testing import LocalOpenAIServer

MODEL = "gpt-4o-mini"
QUESTION = "How long do refunds take?"
DOCUMENTS = [
    {"id": "kb-refunds", "content": "Refunds take 5 business days.", "score": 0.92},
    {"id": "kb-shipping", "content": "Orders ship within 2 days.", "score": 0.41},
]
# Long enough that a trace stretched to the feedback's time is unmistakable (the trace itself
# takes a few milliseconds).
FEEDBACK_DELAY_S = 2.0


def main(argv: list[str]) -> None:
    endpoint, header_args = argv[0], argv[1:]
    headers = dict(arg.split("=", 1) for arg in header_args)
    otel_feedback.configure(endpoint, service_name="peer-chatbot", headers=headers)
    autolog()

    with LocalOpenAIServer() as model_server:
        client = OpenAI(base_url=model_server.base_url, api_key="unused", max_retries=0)

        @trace(span_type=SpanType.RETRIEVER)
        def retrieve(query: str) -> list[dict[str, object]]:
            return DOCUMENTS

        @trace(span_type=SpanType.CHAIN)
        def answer(question: str) -> dict[str, str]:
            documents = retrieve(question)
            context = "\n".join(str(document["content"]) for document in documents)
            reply = client.chat.completions.create(
                model=MODEL,
                messages=[
                    {"role": "system", "content": f"Answer from these notes:\n{context}"},
                    {"role": "user", "content": question},
                ],
            )
            return {"answer": reply.choices[0].message.content or "", "trace_id": get_current_trace_id() or ""}

        result = answer(QUESTION)
        # The app's spans go out now, before the feedback exists, as in a real app.
        otel_feedback.flush()

    time.sleep(FEEDBACK_DELAY_S)
    log_feedback(trace_id=result["trace_id"], name="user_feedback", value=True, rationale="Clear and correct.")
    otel_feedback.flush()
    print(json.dumps({**result, "question": QUESTION, "documents": DOCUMENTS, "model": MODEL, "feedback_delay_s": FEEDBACK_DELAY_S}))


if __name__ == "__main__":
    main(sys.argv[1:])
