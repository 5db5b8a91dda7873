"""Running the collector: uvicorn (OTLP/HTTP and later the API/UI) plus the OTLP/gRPC server.

:class:`CollectorServer` is the in-process API used by ``otel-feedback serve``, the tests and the
demo::

    with CollectorServer(data_dir, port=0, grpc_port=0) as server:
        exporter = OTLPSpanExporter(endpoint=f"{server.http_url}/v1/traces")
        ...
        server.store.connect().sql("select count(*) from spans")

``stop()`` is graceful: stop accepting, let running requests finish, send queued forward copies,
flush and close the store.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar

import uvicorn

from otel_feedback_collector.access import allowed_hosts_for
from otel_feedback_collector.api import parse_origins
from otel_feedback_collector.app import AppContext, build_app
from otel_feedback_collector.connection_guard import DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, guarded_protocol
from otel_feedback_collector.otlp.forwarding import Forwarder
from otel_feedback_collector.otlp.grpc_services import OtlpGrpcReceiver
from otel_feedback_collector.otlp.auth import check_token_settings
from otel_feedback_collector.otlp.inflight import DEFAULT_MAX_INFLIGHT_BYTES, InflightBudget
from otel_feedback_collector.otlp.ingest import ExportPipeline
from otel_feedback_collector.pricing import PriceTable, load_price_table

_logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 4318
DEFAULT_GRPC_PORT = 4317
DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024
# Acknowledged data waiting for its Parquet flush; past this an export waits for room, then 429.
# Draining it after a burst is what "visible after the last ack" waits for (~3 s here).
DEFAULT_MAX_PENDING_BYTES = 32 * 1024 * 1024
# Seconds an export waits for the writer to make room under that limit before the 429.
DEFAULT_PENDING_WAIT = 2.0
_STARTUP_TIMEOUT = 15.0
# Seconds a kept-alive HTTP connection may sit idle between requests before it is closed.
KEEP_ALIVE_TIMEOUT = 5


class CollectorServer:
    """The collector in this process: OTLP/HTTP on ``port``, OTLP/gRPC on ``grpc_port``.

    Ports may be 0 (a free port is picked; read :attr:`http_url` / :attr:`grpc_endpoint` after
    :meth:`start`). ``grpc_port=None`` turns gRPC off. Pass ``store`` to use a store you opened
    yourself (it is then not closed by :meth:`stop`); otherwise a ``SpanStore`` on ``data_dir`` is
    opened and closed here.

    Limits: ``max_body_bytes`` per request (after decompression; also the gRPC message limit);
    ``max_pending_bytes`` of acknowledged data not yet in Parquet (past it an export waits up to
    ``pending_wait`` seconds for room, then gets 429 / RESOURCE_EXHAUSTED);
    ``max_pending_requests`` exports in progress
    per transport (past it 503 on HTTP, RESOURCE_EXHAUSTED from gRPC itself); a body slower than
    ``body_read_timeout`` seconds gets 408. ``cors_origins``: browser origins allowed to call the
    REST API (``/api/``); none means same-origin only. ``allowed_hosts``: Host header names
    accepted besides loopback and the bind address. ``read_token`` / ``public_read``: reads need
    only that token / no token while writes need ``token``.

    Connections (see :mod:`otel_feedback_collector.connection_guard`): an HTTP connection that has not sent a
    request's complete headers within ``header_timeout`` seconds is closed (the gRPC handshake
    gets the same deadline); past ``max_connections`` open HTTP connections the one idle the
    longest is closed to make room, so idle sockets cannot starve real requests.

    Memory: export bodies in progress on both transports (read, inflated, decoded: see
    :mod:`otel_feedback_collector.otlp.inflight`) hold at most ``max_inflight_bytes`` (:attr:`inflight`); past
    it exports get 503 / UNAVAILABLE with a retry delay.

    ``prices``: the model prices the UI's cost figures use (default: the built-in table, extended
    by the file named in ``$OTEL_FEEDBACK_PRICES``; see :mod:`otel_feedback_collector.pricing`).

    ``read_only``: serve the UI and REST API over ``store`` (a ``ReadOnlyStore`` over several
    data directories, :mod:`otel_feedback_collector.read_only`) without receivers; requests
    that would write get 403 (``serve --read-only``).
    """

    def __init__(
        self,
        data_dir: str | Path | None,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_HTTP_PORT,
        grpc_port: int | None = DEFAULT_GRPC_PORT,
        forward_url: str | None = None,
        token: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        store: Any = None,
        flush_interval: float = 1.0,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
        pending_wait: float = DEFAULT_PENDING_WAIT,
        max_pending_requests: int = 32,
        body_read_timeout: float = 60.0,
        shutdown_grace: float = 10.0,
        cors_origins: Sequence[str] = (),
        allowed_hosts: Sequence[str] = (),
        read_token: str | None = None,
        public_read: bool = False,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_inflight_bytes: int = DEFAULT_MAX_INFLIGHT_BYTES,
        prices: PriceTable | None = None,
        read_only: bool = False,
    ) -> None:
        if read_only and store is None:
            raise ValueError("A read-only server reads the store it is given (a ReadOnlyStore); pass store=.")
        if store is None and data_dir is None:
            raise ValueError("Give the collector a data directory (or an opened store).")
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be a positive number of bytes.")
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self._host = host
        self._port = port
        self._grpc_port = grpc_port
        self._forward_url = forward_url
        self._token = token or None
        self._max_body_bytes = max_body_bytes
        self._store = store
        self._owns_store = store is None
        self._flush_interval = flush_interval
        self._max_pending_bytes = max_pending_bytes
        self._pending_wait = pending_wait
        self._max_pending_requests = max_pending_requests
        self._body_read_timeout = body_read_timeout
        self._shutdown_grace = shutdown_grace
        self._cors_origins = parse_origins(cors_origins)
        # Host names besides loopback and the bind address (DNS-rebinding guard), and read access.
        self._allowed_hosts = allowed_hosts_for(host, allowed_hosts)
        self._read_token = read_token or None
        self._public_read = public_read
        # The UI's model prices: these, else the built-in table extended by $OTEL_FEEDBACK_PRICES.
        self._prices = prices if prices is not None else load_price_table()
        check_token_settings(self._token, self._read_token, public_read)
        self._http_protocol = guarded_protocol(header_timeout=header_timeout, max_connections=max_connections)
        self._header_timeout = header_timeout
        self.inflight = InflightBudget(max_inflight_bytes)
        self._forwarder: Forwarder | None = None
        self._pipeline: ExportPipeline | None = None
        self._uvicorn: uvicorn.Server | None = None
        self._http_thread: threading.Thread | None = None
        self._http_port: int | None = None
        self._grpc: OtlpGrpcReceiver | None = None
        self._read_only = read_only
        self._started = False

    # -- public surface -------------------------------------------------------------------

    @property
    def store(self) -> Any:
        """The store the collector writes to."""
        return _started(self._store)

    @property
    def http_url(self) -> str:
        """Base URL of the HTTP side, e.g. ``http://127.0.0.1:4318`` (append ``/v1/traces``)."""
        return f"http://{_url_host(self._host)}:{_started(self._http_port)}"

    @property
    def grpc_endpoint(self) -> str | None:
        """``host:port`` of the OTLP/gRPC server, or None when gRPC is off."""
        if self._grpc is None:
            return None
        return f"{_url_host(self._host)}:{self._grpc.port}"

    @property
    def open_http_connections(self) -> int:
        """How many HTTP connections are open right now (0 before start)."""
        if self._uvicorn is None:
            return 0
        return len(self._uvicorn.server_state.connections)

    @property
    def pipeline(self) -> ExportPipeline:
        """The export pipeline both receivers feed."""
        return _started(self._pipeline)

    @property
    def forwarder(self) -> Forwarder | None:
        """The forwarder, when ``forward_url`` was given."""
        return self._forwarder

    def start(self) -> CollectorServer:
        """Open the store, bind both ports and serve; returns once requests are being accepted."""
        if self._started:
            raise RuntimeError("The collector is already running.")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self._started = True
        return self

    def stop(self) -> None:
        """Stop accepting, finish running requests, send queued copies, flush and close the store."""
        if self._uvicorn is not None and self._http_thread is not None:
            self._uvicorn.should_exit = True
            self._http_thread.join(self._shutdown_grace + 5.0)
            if self._http_thread.is_alive():
                self._uvicorn.force_exit = True
                self._http_thread.join(5.0)
        self._uvicorn = None
        self._http_thread = None
        if self._grpc is not None:
            self._grpc.stop(grace=self._shutdown_grace)
        if self._pipeline is not None:
            self._pipeline.close()
        if self._forwarder is not None:
            self._forwarder.close(timeout=self._shutdown_grace)
        if self._store is not None and self._owns_store:
            try:
                # close() flushes; what cannot be flushed (disk full) stays in the write-ahead
                # log for the next start, so stopping never fails because of it.
                self._store.close()
            finally:
                self._store = None
        self._started = False

    def __enter__(self) -> CollectorServer:
        return self.start() if not self._started else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------

    def _start(self) -> None:
        if self._store is None:
            from otel_feedback_collector.storage import SpanStore

            assert self.data_dir is not None
            store = SpanStore(
                self.data_dir,
                flush_interval=self._flush_interval,
                max_pending_bytes=self._max_pending_bytes,
                pending_wait=self._pending_wait,
            )
            store.open()
            self._store = store
        if self._forward_url and not self._read_only:
            self._forwarder = Forwarder(self._forward_url)
        # A read-only server receives nothing: no pipeline, no OTLP routes, no gRPC.
        self._pipeline = None if self._read_only else ExportPipeline(self._store, forwarder=self._forwarder)
        context = AppContext(
            store=self._store,
            pipeline=self._pipeline,  # type: ignore[arg-type]  # None only when read-only
            data_dir=self.data_dir,
            max_body_bytes=self._max_body_bytes,
            max_pending_requests=self._max_pending_requests,
            body_read_timeout=self._body_read_timeout,
            cors_origins=self._cors_origins,
            allowed_hosts=self._allowed_hosts,
            inflight=self.inflight,
            prices=self._prices,
        )
        app = build_app(
            context, token=self._token, read_token=self._read_token, public_read=self._public_read, read_only=self._read_only
        )
        sock = _bind_tcp(self._host, self._port)
        self._http_port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=int(self._shutdown_grace),
            server_header=False,
            http=self._http_protocol,
            timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
            # Bounds requests in progress for every route (uvicorn answers 503 past it). Just above
            # the connection cap: idle connections are closed to make room before it is reached.
            limit_concurrency=self._http_protocol.max_connections + 1,
        )
        server = uvicorn.Server(config)
        self._uvicorn = server
        self._http_thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="collector-http", daemon=True
        )
        self._http_thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not server.started:
            if not self._http_thread.is_alive():
                raise RuntimeError("The HTTP server stopped during start-up; see the log above for why.")
            if time.monotonic() > deadline:
                raise RuntimeError(f"The HTTP server did not start within {_STARTUP_TIMEOUT:g} s.")
            time.sleep(0.01)
        if self._grpc_port is not None and self._pipeline is not None:
            self._grpc = OtlpGrpcReceiver(
                self._pipeline,
                host=self._host,
                port=self._grpc_port,
                max_message_bytes=self._max_body_bytes,
                max_pending_requests=self._max_pending_requests,
                token=self._token,
                handshake_timeout=self._header_timeout,
                inflight=self.inflight,
            )
            self._grpc.start()
        _logger.info("Collector listening: OTLP/HTTP %s, OTLP/gRPC %s", self.http_url, self.grpc_endpoint)


_T = TypeVar("_T")


def _started(value: _T | None) -> _T:
    if value is None:
        raise RuntimeError("The collector has not been started; call start() first.")
    return value


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _bind_tcp(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio turns Nagle off (TCP_NODELAY) only on accepted sockets
    # whose proto says TCP; with proto 0 every answer on a kept-alive connection waits ~40 ms
    # for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"Could not bind the OTLP/HTTP port {host}:{port}: {exc.strerror}; choose another --port.") from exc
    sock.listen(2048)
    sock.setblocking(False)
    return sock


# The line ``otel-feedback serve`` prints once it accepts requests (see collector/cli.py).
READY_LINE = re.compile(r"^otel-feedback collector ready: http=(?P<http>\S+) grpc=(?P<grpc>\S+) data=(?P<data>.+)$")


class CollectorProcess:
    """``otel-feedback serve`` in a child process, for tests, benchmarks and demos.

    :meth:`start` launches it on free ports (unless ``args`` say otherwise) and returns once the
    ready line was printed; :meth:`stop` sends SIGTERM (graceful), :meth:`kill` SIGKILL.
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        log_file: IO[bytes] | int | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self._args = list(args)
        self._env = env
        self._log_file = log_file
        self._startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.http_url = ""
        self.grpc_endpoint: str | None = None

    @property
    def pid(self) -> int:
        """The child's process id."""
        if self.process is None:
            raise RuntimeError("The collector process has not been started.")
        return self.process.pid

    def start(self) -> CollectorProcess:
        """Launch the child and wait for its ready line; raises RuntimeError if it exits first."""
        command = [sys.executable, "-m", "otel_feedback.cli", "serve", "--data", str(self.data_dir)]
        if "--port" not in self._args:
            command += ["--port", "0"]
        if "--grpc-port" not in self._args:
            command += ["--grpc-port", "0"]
        command += self._args
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            env={**os.environ, **(self._env or {})},
        )
        ready = threading.Event()
        lines: list[str] = []

        def read_stdout() -> None:
            assert self.process is not None and self.process.stdout is not None
            for raw in self.process.stdout:
                line = raw.decode(errors="replace").rstrip("\n")
                lines.append(line)
                match = READY_LINE.match(line)
                if match and not ready.is_set():
                    self.http_url = match["http"]
                    self.grpc_endpoint = None if match["grpc"] == "off" else match["grpc"]
                    ready.set()

        threading.Thread(target=read_stdout, name="collector-stdout", daemon=True).start()
        deadline = time.monotonic() + self._startup_timeout
        while not ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(
                    f"otel-feedback serve did not become ready (exit code {self.process.returncode}); "
                    f"its output: {lines!r}"
                )
        return self

    def stop(self, *, timeout: float = 30.0, signal_number: int = signal.SIGTERM) -> int:
        """Signal the child (SIGTERM: graceful shutdown) and return its exit code; SIGKILL after ``timeout``."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal_number)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return int(self.process.returncode)

    def kill(self) -> None:
        """SIGKILL the child at once and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> CollectorProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
