"""``python -m otel_feedback_testing``: run the local OpenAI-compatible server until Ctrl-C.

It stands in for a model (see ``otel_feedback_testing``); point an app at it with
``OPENAI_BASE_URL=<the printed base URL>``.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence

from otel_feedback_testing._server import LocalOpenAIServer


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, serve until interrupted, and return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m otel_feedback_testing",
                                     description="A local OpenAI-compatible server that stands in for a model.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before each answer")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between streamed chunks")
    options = parser.parse_args(argv)
    server = LocalOpenAIServer(host=options.host, port=options.port, latency=options.latency,
                               chunk_delay=options.chunk_delay)
    server.start()
    print(f"Local OpenAI-compatible server (a stand-in for a model) at {server.base_url}", flush=True)
    print(f"Use it with: OPENAI_BASE_URL={server.base_url} OPENAI_API_KEY=unused", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
