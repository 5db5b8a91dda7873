"""The ``otel-feedback demo`` subcommand."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from otel_feedback_core.layout import DEFAULT_DATA_DIR
from otel_feedback_collector.demo.runner import DEMO_STAGES, DemoRefused, run_demo


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``demo`` to the ``otel-feedback`` command line."""
    parser = subparsers.add_parser(
        "demo",
        help="run the human-feedback tutorial end to end (no account, no API key, no network)",
        description=(
            "Starts a collector on a fresh data directory and, without OPENAI_API_KEY, a local "
            "stand-in model and judge; runs the tutorial's traced chatbot, records an end user's "
            "thumbs-down and a developer's score, creates label schemas, a labeling session and a "
            "reviewer, simulates the expert's review, evaluates with Correctness(), registers the "
            "chatbot for the review app's chat (vibe check), prints each step and keeps serving until Ctrl-C."
        ),
    )
    parser.add_argument("--data", default=DEFAULT_DATA_DIR, help=f"data directory (default {DEFAULT_DATA_DIR})")
    parser.add_argument("--no-serve", action="store_true", help="exit at the end instead of serving")
    parser.add_argument(
        "--until", choices=DEMO_STAGES, default="all",
        help="stop early: 'session' leaves the expert review to you in the browser; 'feedback' stops "
             "after the end user's thumbs-down (default: all)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4318, help="HTTP port (a free one if taken)")
    parser.add_argument("--grpc-port", type=int, default=4317, help="gRPC port (a free one if taken)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        run_demo(Path(args.data), serve=not args.no_serve, host=args.host, port=args.port,
                 grpc_port=args.grpc_port, until=args.until)
    except DemoRefused as exc:
        print(f"otel-feedback demo: {exc}", file=sys.stderr)
        return 2
    return 0
