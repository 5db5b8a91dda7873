"""``otel-feedback chat-app MODULE:FUNCTION``: serve a traced function as an OpenAI-compatible endpoint.

    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 otel-feedback chat-app myapp:my_chatbot --port 8000

Tracing is configured from the standard ``OTEL_*`` variables (after the app's module is imported,
so an app that calls ``configure()`` itself keeps its own settings). Register the printed base URL
with ``get_review_app().add_agent(...)`` to chat with the app in the review app.
"""

from __future__ import annotations

import argparse
import sys

import otel_feedback


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``chat-app`` to the ``otel-feedback`` command line."""
    parser = subparsers.add_parser(
        "chat-app",
        help="serve a traced Python function as an OpenAI-compatible chat endpoint",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("function", metavar="MODULE:FUNCTION",
                        help="the app's function, called with the last user message (or messages=[...])")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--model", help="the model name /v1/models lists (default: the function's name)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from otel_feedback.chat_app import ChatAppServer, load_function

    try:
        function = load_function(args.function)
    except ValueError as exc:
        print(f"otel-feedback chat-app: {exc}", file=sys.stderr)
        return 2
    otel_feedback.configure()
    try:
        server = ChatAppServer(function, host=args.host, port=args.port, model=args.model)
    except OSError as exc:
        print(f"otel-feedback chat-app: cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); "
              "pick another --port", file=sys.stderr)
        return 2
    print(f"Serving {args.function} as an OpenAI-compatible chat endpoint: {server.base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        otel_feedback.flush(timeout_millis=5_000)
    return 0
