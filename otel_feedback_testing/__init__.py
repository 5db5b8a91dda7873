"""A local OpenAI-compatible server that stands in for a model, for tests, demos and judges.

``LocalOpenAIServer`` speaks the OpenAI HTTP API (``/v1/chat/completions`` with JSON and SSE
streaming, ``/v1/completions``, ``/v1/responses``, ``/v1/embeddings``, ``/v1/models``) on a
free loopback port, so the real ``openai`` client, our instrumentation and the app run
unchanged with no network and no API key. It is only a stand-in for a model: its answers come
from a ``responder``, not from a language model. Any OpenAI-compatible endpoint (OpenAI itself,
a local vLLM or Ollama server) works the same way: set ``OPENAI_BASE_URL`` (or pass
``base_url=``) to that endpoint instead of ``server.base_url``.

Usage::

    from openai import OpenAI
    from otel_feedback_testing import LocalOpenAIServer

    with LocalOpenAIServer() as server:
        client = OpenAI(base_url=server.base_url, api_key="unused")
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

Answers: a responder is ``responder(request: ModelRequest) -> str | Reply``. ``ModelRequest``
normalizes the three text endpoints (``messages``, ``last_user_message``, ``system_prompt``,
``tool_names``, the raw ``body``); return text, or ``Reply(text=..., tool_calls=(ToolCall(...),))``
to call tools. The default ``RuleBasedResponder`` answers greetings and a few canned questions,
turns ``call <tool> {"json": "arguments"}`` into a tool call when the request offers that tool,
and echoes everything else. To plug in your own answers::

    server = LocalOpenAIServer(responder=RuleBasedResponder(extra_rules=[
        Rule(r"refund", "Refunds take 5 business days."),
    ]))
    # or a judge that always answers with a JSON verdict:
    server = LocalOpenAIServer(responder=lambda request: '{"result": "yes", "rationale": "ok"}')

Faults and latency: ``server.add_fault(Fault.rate_limit(retry_after=2))`` (a 429 with
``Retry-After``), ``Fault.server_error()`` (a 500), ``Fault.broken_stream(after_chunks=2)``
(an error event midway) or ``Fault.broken_stream(disconnect=True)`` (the connection drops);
``latency=`` delays every answer, ``chunk_delay=`` every streamed chunk. Token usage counts
whitespace-separated words; embeddings are deterministic hashed bag-of-words unit vectors.
"""

from __future__ import annotations

from otel_feedback_testing._faults import Fault, FaultKind
from otel_feedback_testing._payloads import embed_text
from otel_feedback_testing._replies import (
    ModelRequest,
    Reply,
    Responder,
    Rule,
    RuleBasedResponder,
    ToolCall,
    count_tokens,
    echo_responder,
)
from otel_feedback_testing._server import DEFAULT_MODELS, LocalOpenAIServer

__all__ = [
    "DEFAULT_MODELS",
    "Fault",
    "FaultKind",
    "LocalOpenAIServer",
    "ModelRequest",
    "Reply",
    "Responder",
    "Rule",
    "RuleBasedResponder",
    "ToolCall",
    "count_tokens",
    "echo_responder",
    "embed_text",
]
