"""``otel-feedback serve``: run the collector."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType

from otel_feedback_collector.access import ALLOWED_HOSTS_ENV
from otel_feedback_collector.allocator import limit_heaps, release_large_allocations
from otel_feedback_collector.api import CORS_ORIGINS_ENV, parse_origins
from otel_feedback_collector.connection_guard import DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, raise_fd_limit
from otel_feedback_collector.otlp.inflight import DEFAULT_MAX_INFLIGHT_BYTES
from otel_feedback_collector.pricing import PRICES_ENV, load_price_table
from otel_feedback_core.layout import DATA_DIR_ENV, DEFAULT_DATA_DIR
from otel_feedback_collector.server import (
    DEFAULT_GRPC_PORT,
    DEFAULT_HOST,
    DEFAULT_HTTP_PORT,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_PENDING_BYTES,
    CollectorServer,
)

TOKEN_ENV = "OTEL_FEEDBACK_TOKEN"
READ_TOKEN_ENV = "OTEL_FEEDBACK_READ_TOKEN"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` to the top-level CLI."""
    serve = subparsers.add_parser(
        "serve",
        help="run the collector (OTLP/HTTP and OTLP/gRPC receivers, durable storage)",
        description="Run the collector: receive OTLP traces and logs, store them durably as Parquet.",
    )
    serve.add_argument(
        "--data",
        action="append",
        metavar="DIR",
        help=f"data directory (default: ${DATA_DIR_ENV} or {DEFAULT_DATA_DIR}); with --read-only, repeat it "
        "to serve several collectors' directories as one",
    )
    serve.add_argument(
        "--read-only",
        action="store_true",
        help="serve the UI and REST API over the --data directories' Parquet files without receiving or "
        "storing anything (their collectors may be running); writes get 403",
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default: {DEFAULT_HOST})")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_HTTP_PORT, help=f"OTLP/HTTP port, 0 for a free one (default: {DEFAULT_HTTP_PORT})"
    )
    serve.add_argument(
        "--grpc-port",
        type=int,
        default=DEFAULT_GRPC_PORT,
        help=f"OTLP/gRPC port, 0 for a free one, -1 to turn gRPC off (default: {DEFAULT_GRPC_PORT})",
    )
    serve.add_argument("--forward", metavar="URL", help="also send a copy of everything received to this OTLP/HTTP base URL")
    serve.add_argument(
        "--token",
        default=os.environ.get(TOKEN_ENV),
        help=f"require 'Authorization: Bearer TOKEN' on every request (default: ${TOKEN_ENV}; unset means no auth)",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help=f"largest request body accepted, after decompression (default: {DEFAULT_MAX_BODY_BYTES})",
    )
    serve.add_argument(
        "--max-pending-bytes",
        type=int,
        default=DEFAULT_MAX_PENDING_BYTES,
        help="acknowledged data held in memory before its Parquet flush; past it exports get 429 "
        f"(default: {DEFAULT_MAX_PENDING_BYTES})",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        dest="cors_origins",
        metavar="ORIGIN",
        help=f"let browser pages from ORIGIN (e.g. http://localhost:3000) call the REST API; repeat "
        f"for more (default: ${CORS_ORIGINS_ENV}, comma-separated; unset means same-origin only)",
    )
    serve.add_argument(
        "--log-level",
        type=str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        default="INFO",
        help="logging level (default: INFO)",
    )
    _add_access_arguments(serve)
    serve.add_argument(
        "--header-timeout",
        type=float,
        default=DEFAULT_HEADER_TIMEOUT,
        metavar="SECONDS",
        help="close a connection that has not sent a request's complete headers (gRPC: the handshake) "
        f"within this many seconds (default: {DEFAULT_HEADER_TIMEOUT:g})",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        help="open HTTP connections; past it the one idle the longest is closed to make room "
        f"(default: {DEFAULT_MAX_CONNECTIONS})",
    )
    serve.add_argument(
        "--max-inflight-bytes",
        type=int,
        default=DEFAULT_MAX_INFLIGHT_BYTES,
        help="memory for exports in progress (bodies read, inflated and decoded, estimated), both "
        f"transports together; past it exports get 503 with Retry-After (default: {DEFAULT_MAX_INFLIGHT_BYTES})",
    )
    serve.add_argument(
        "--prices",
        metavar="FILE",
        default=os.environ.get(PRICES_ENV),
        help="JSON or TOML file of model prices, {model: {input, output}} in US dollars per million tokens, "
        f"added to the built-in table for the UI's cost figures (default: ${PRICES_ENV})",
    )
    serve.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Run the collector until SIGTERM or SIGINT, then shut it down gracefully."""
    from otel_feedback_collector.storage import StoreLocked

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.max_body_bytes < 1 or args.max_pending_bytes < 1 or args.max_inflight_bytes < 1:
        print(
            "--max-body-bytes, --max-pending-bytes and --max-inflight-bytes must be positive numbers of bytes.",
            file=sys.stderr,
        )
        return 2
    if not args.header_timeout > 0 or args.max_connections < 1:
        print("--header-timeout must be a positive number of seconds and --max-connections at least 1.", file=sys.stderr)
        return 2
    raise_fd_limit(args.max_connections)
    release_large_allocations()
    limit_heaps()
    try:
        cors_origins = parse_origins(args.cors_origins or [os.environ.get(CORS_ORIGINS_ENV, "")])
    except ValueError as exc:
        print(f"otel-feedback serve: {exc}", file=sys.stderr)
        return 2
    try:
        prices = load_price_table(args.prices)
    except ValueError as exc:
        print(f"otel-feedback serve: {exc}", file=sys.stderr)
        return 2
    try:
        access = _access_settings(args)
        data_dirs = _data_dirs(args)
        read_only_store = _read_only_store(data_dirs) if args.read_only else None
    except (ValueError, FileNotFoundError) as exc:
        print(f"otel-feedback serve: {exc}", file=sys.stderr)
        return 2
    server = CollectorServer(
        None if read_only_store else data_dirs[0],
        host=args.host,
        port=args.port,
        grpc_port=None if args.grpc_port < 0 or read_only_store else args.grpc_port,
        forward_url=args.forward,
        token=args.token,
        max_body_bytes=args.max_body_bytes,
        max_pending_bytes=args.max_pending_bytes,
        cors_origins=cors_origins,
        **access,
        header_timeout=args.header_timeout,
        max_connections=args.max_connections,
        max_inflight_bytes=args.max_inflight_bytes,
        prices=prices,
        store=read_only_store,
        read_only=read_only_store is not None,
    )
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger(__name__).info("Received %s; shutting down.", signal.Signals(signum).name)
        stop.set()
        # A second signal ends the process at once.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        server.start()
    except (OSError, ValueError, StoreLocked) as exc:
        print(f"otel-feedback serve: {exc}", file=sys.stderr)
        return 1
    grpc_text = server.grpc_endpoint or "off"
    data_text = ",".join(os.path.abspath(d) for d in data_dirs)
    print(f"otel-feedback collector ready: http={server.http_url} grpc={grpc_text} data={data_text}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        if read_only_store is not None:
            read_only_store.close()
    print("otel-feedback collector stopped", flush=True)
    return 0


def _data_dirs(args: argparse.Namespace) -> list[str]:
    """The ``--data`` directories (default: one); ValueError when a writing collector gets several."""
    given = args.data or [os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR)]
    if len(given) > 1 and not args.read_only:
        raise ValueError(
            "A collector writes one data directory: give --data once, or add --read-only to serve "
            "several collectors' directories as one."
        )
    return given


def _read_only_store(data_dirs: list[str]) -> object:
    """The store of ``serve --read-only``: views over every directory, nothing opened for writing."""
    from otel_feedback_collector.read_only import ReadOnlyStore

    return ReadOnlyStore(data_dirs)


def _add_access_arguments(serve: argparse.ArgumentParser) -> None:
    """``--allowed-host``, ``--read-token``, ``--public-read`` (see collector/access)."""
    serve.add_argument(
        "--allowed-host",
        action="append",
        dest="allowed_hosts",
        metavar="NAME",
        help="also answer requests whose Host header is NAME (any port; .example.com for a domain, * for any); "
        f"repeat for more (default: ${ALLOWED_HOSTS_ENV}, comma-separated; loopback names and the bind address "
        "are always allowed). Guards against DNS rebinding.",
    )
    serve.add_argument(
        "--read-token",
        default=os.environ.get(READ_TOKEN_ENV),
        help=f"a second token that may only read (GET pages and API, trace search); needs --token for writes "
        f"(default: ${READ_TOKEN_ENV})",
    )
    serve.add_argument(
        "--public-read",
        action="store_true",
        help="let anyone reach the UI and read the API without a token, while writes still need --token",
    )


def _access_settings(args: argparse.Namespace) -> dict[str, object]:
    """The CollectorServer keywords for the access flags; ValueError says what to fix."""
    from otel_feedback_collector.access import allowed_hosts_for
    from otel_feedback_collector.otlp.auth import check_token_settings

    names = args.allowed_hosts or [name for name in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if name.strip()]
    allowed_hosts_for(args.host, names)  # validates each name now, for a plain message
    check_token_settings(args.token, args.read_token, args.public_read)
    return {"allowed_hosts": tuple(names), "read_token": args.read_token, "public_read": args.public_read}
