"""Serve a traced Python function as an OpenAI-compatible chat endpoint.

::

    otel-feedback chat-app myapp:my_chatbot --port 8000

or, in a process of your own::

    from otel_feedback.chat_app import ChatAppServer

    with ChatAppServer(my_chatbot, port=0) as server:
        print(server.base_url)          # http://127.0.0.1:PORT/v1

``POST /v1/chat/completions`` (JSON, or SSE with ``"stream": true``) calls the function with the
last user message, or with the whole message list when its signature has a ``messages``
parameter; a function that returns a generator of strings streams them as they come. ``GET
/v1/models`` lists one model, the function's name. Each request continues the W3C
``traceparent`` it carries, so the app's own spans (its ``@trace`` root, RETRIEVER, LLM) are in the
caller's trace; an ``X-Session-Id`` header becomes the trace's session and the body's ``user``
its user, as ``update_current_trace(session=..., user=...)`` would set them. The review app's chat
page (docs/labeling.md, "Vibe check") talks to this endpoint.
"""

from __future__ import annotations

from otel_feedback.chat_app._function import ChatFunction, load_function
from otel_feedback.chat_app._server import SESSION_HEADER, ChatAppServer

__all__ = ["SESSION_HEADER", "ChatAppServer", "ChatFunction", "load_function"]
