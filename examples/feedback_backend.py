"""A chatbot backend that returns the trace id with each answer and forwards thumbs up/down.

This is the tutorial's step 2 as a small web app (Starlette on uvicorn):

* ``POST /chat {"question": "..."}`` runs a traced chatbot — a ``@trace`` root, a
  ``RETRIEVER`` step, then the real ``openai`` client (auto-instrumented with
  ``otel_feedback.openai.autolog()``) — and answers ``{"answer": "...", "trace_id": "..."}``.
  The browser keeps the trace id next to the answer it shows.
* ``POST /feedback {"trace_id", "thumbs_up": true|false, "comment"?, "user_id"}`` records the
  end user's judgement with ``log_feedback(name="user_feedback", source=HUMAN user_id)``; it
  travels over OTLP to the collector as a log record in the answer's trace. Bad input gets 422 with the reason.

The model: ``OPENAI_BASE_URL`` (and ``OPENAI_API_KEY``) when set — OpenAI itself or any
compatible server such as vLLM or Ollama — otherwise a local stand-in server is started
(``otel_feedback_testing.LocalOpenAIServer``), so the example runs with no network.

Run a collector, then the backend, then ask and vote::

    otel-feedback serve &
    .venv/bin/python examples/feedback_backend.py --port 8000 --collector http://127.0.0.1:4318
    curl -s localhost:8000/chat -d '{"question": "What is tracing?"}'
    curl -s localhost:8000/feedback -d '{"trace_id": "<id>", "thumbs_up": false, "user_id": "enduser_123"}'
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import uvicorn
from openai import OpenAI
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import otel_feedback
import otel_feedback.openai
from otel_feedback import AssessmentSource, AssessmentSourceType, SpanType, trace

DOCUMENTS = {
    "tracing": "Tracing records each step of a request as a span: inputs, outputs and timing.",
    "feedback": "Feedback is a judgement attached to a trace: a thumbs-up, a score or a label.",
    "opentelemetry": "OpenTelemetry is the open standard for traces, metrics and logs.",
}
READY_PREFIX = "feedback backend ready: "


def make_chatbot(client: OpenAI, *, model: str) -> Callable[[str], str]:
    """The traced chatbot: retrieve documents, then ask the model with them."""

    @trace(span_type=SpanType.RETRIEVER)
    def retrieve_documents(question: str, k: int = 2) -> list[str]:
        words = set(question.lower().replace("?", "").split())
        ranked = sorted(DOCUMENTS.values(), key=lambda text: -len(words & set(text.lower().split())))
        return ranked[:k]

    @trace
    def answer_question(question: str) -> str:
        context = "\n".join(retrieve_documents(question))
        completion = client.chat.completions.create(
            model=model,
            messages=[
                {"role": "system", "content": f"Answer using this context:\n{context}"},
                {"role": "user", "content": question},
            ],
        )
        return completion.choices[0].message.content or ""

    return answer_question


def build_app(chatbot: Callable[[str], str]) -> Starlette:
    """The backend's routes around ``chatbot``."""

    def answer_with_trace_id(question: str) -> dict[str, Any]:
        # The trace id is per thread: read it in the thread that ran the chatbot.
        answer = chatbot(question)
        return {"answer": answer, "trace_id": otel_feedback.get_last_active_trace_id()}

    async def chat(request: Request) -> JSONResponse:
        body = await _json_object(request)
        question = body.get("question")
        if not isinstance(question, str) or not question.strip():
            return _unprocessable('"question" must be a non-empty string')
        return JSONResponse(await run_in_threadpool(answer_with_trace_id, question))

    async def feedback(request: Request) -> JSONResponse:
        body = await _json_object(request)
        thumbs_up, user_id, comment = body.get("thumbs_up"), body.get("user_id"), body.get("comment")
        if not isinstance(thumbs_up, bool):
            return _unprocessable('"thumbs_up" must be true or false')
        if not isinstance(user_id, str) or not user_id.strip():
            return _unprocessable('"user_id" must be a non-empty string')
        try:
            assessment = otel_feedback.log_feedback(
                trace_id=body.get("trace_id"),  # type: ignore[arg-type] - validated by log_feedback
                name="user_feedback",
                value=thumbs_up,
                rationale=comment,
                source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id=user_id),
            )
        except ValueError as exc:
            return _unprocessable(str(exc))
        except otel_feedback.FeedbackNotDelivered as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        return JSONResponse({"assessment_id": assessment.assessment_id, "trace_id": assessment.trace_id})

    return Starlette(
        routes=[Route("/chat", chat, methods=["POST"]), Route("/feedback", feedback, methods=["POST"])]
    )


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {}


def _unprocessable(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=422)


def main(argv: list[str] | None = None) -> int:
    """Start the backend (and a stand-in model when ``OPENAI_BASE_URL`` is unset)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--collector", default="http://127.0.0.1:4318", help="the collector's OTLP/HTTP base URL")
    parser.add_argument("--model", default="gpt-4o-mini")
    args = parser.parse_args(argv)

    otel_feedback.configure(args.collector, service_name="feedback-backend", experiment="feedback-backend")
    otel_feedback.openai.autolog()
    with ExitStack() as stack:
        if os.environ.get("OPENAI_BASE_URL"):
            client = OpenAI(api_key=os.environ.get("OPENAI_API_KEY") or "unused")
        else:
            from otel_feedback_testing import LocalOpenAIServer

            local = stack.enter_context(LocalOpenAIServer())
            client = OpenAI(base_url=local.base_url, api_key="unused")
        stack.callback(otel_feedback.flush)  # send what is queued before exiting
        app = build_app(make_chatbot(client, model=args.model))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
        sock.listen(128)  # connections queue from now on, so the ready line is true
        stack.callback(sock.close)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        print(f"{READY_PREFIX}http://{args.host}:{sock.getsockname()[1]}", flush=True)
        server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
