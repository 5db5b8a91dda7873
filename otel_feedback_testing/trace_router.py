"""A trace-id router for tests: an OTLP/HTTP front that splits exports among several collectors.

In production several collectors sit behind the OpenTelemetry Collector's ``load_balancing``
exporter with ``routing_key: traceID`` (deploy/otelcol.yaml, docs/scaling.md): every span and
every log record of one trace reaches the same collector. That binary is not installable on the
test machines, so this stands in for it on loopback::

    with TraceRouter([collector_a.http_url, collector_b.http_url]) as router:
        otel_feedback.configure(router.url)   # spans and log_feedback go through it

Each ``POST /v1/traces`` and ``/v1/logs`` (protobuf, optionally gzip) is decoded and split by
trace id: a stable hash of the id (CRC-32 of its 16 bytes, modulo the number of backends, see
:func:`backend_index`) picks the backend, resource and scope kept around each part. The sender
gets its 200 only after every backend acknowledged its part; any failure is passed on (the
worst status, with its ``Retry-After``), so the sender's exporter retries the whole export and
the collectors drop what they already had (resends are de-duplicated on their key).

Assessments travel as OTLP log records carrying the trace id they are about (``log_feedback``),
so they follow their trace. A record without a trace id goes to the first backend.

Needs ``opentelemetry-proto`` (installed with the SDK's OTLP exporter); only loopback use is
intended: no TLS, no auth, no limits beyond one request body at a time per connection.
"""

from __future__ import annotations

import gzip
import threading
import urllib.error
import urllib.request
import zlib
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

_PROTOBUF = "application/x-protobuf"
_FORWARD_TIMEOUT = 30.0
_MAX_BODY_BYTES = 64 * 1024 * 1024


def backend_index(trace_id: bytes, backends: int) -> int:
    """Which of ``backends`` gets the trace with this 16-byte id (stable across runs and
    processes; an empty id, as on a log record about no trace, gives 0)."""
    if not trace_id:
        return 0
    return zlib.crc32(trace_id) % backends


def split_traces(request: ExportTraceServiceRequest, backends: int) -> list[ExportTraceServiceRequest]:
    """One request per backend holding the spans whose trace it gets (resource and scope kept)."""
    return _split(request, backends, ("resource_spans", "scope_spans", "spans"))


def split_logs(request: ExportLogsServiceRequest, backends: int) -> list[ExportLogsServiceRequest]:
    """One request per backend holding the log records about the traces it gets."""
    return _split(request, backends, ("resource_logs", "scope_logs", "log_records"))


def _split(request: Any, backends: int, fields: tuple[str, str, str]) -> list[Any]:
    """Split an export request by its items' trace ids. ``fields`` names the three levels of
    the signal's message (resource entries, scope entries, items): traces and logs are shaped
    alike, only the names differ."""
    resources, scopes, items = fields
    parts = [type(request)() for _ in range(backends)]
    for resource_entry in getattr(request, resources):
        for scope_entry in getattr(resource_entry, scopes):
            targets: dict[int, Any] = {}
            for item in getattr(scope_entry, items):
                index = backend_index(item.trace_id, backends)
                if index not in targets:
                    resource_copy = getattr(parts[index], resources).add()
                    resource_copy.resource.CopyFrom(resource_entry.resource)
                    resource_copy.schema_url = resource_entry.schema_url
                    targets[index] = getattr(resource_copy, scopes).add()
                    targets[index].scope.CopyFrom(scope_entry.scope)
                    targets[index].schema_url = scope_entry.schema_url
                getattr(targets[index], items).append(item)
    return parts


class TraceRouter:
    """The router on a free loopback port; :attr:`url` is its base URL (``configure`` it)."""

    def __init__(self, backends: Sequence[str], *, host: str = "127.0.0.1") -> None:
        if not backends:
            raise ValueError("TraceRouter needs at least one backend base URL (e.g. http://127.0.0.1:4318).")
        self.backends = [url.rstrip("/") for url in backends]
        self.forwarded = [0] * len(self.backends)  # parts acknowledged, per backend
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> TraceRouter:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="trace-router", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5.0)

    def __enter__(self) -> TraceRouter:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def route(self, path: str, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        """Split one export and forward its parts; ``(status, body, headers)`` for the sender."""
        if path == "/v1/traces":
            parts: list[Any] = split_traces(ExportTraceServiceRequest.FromString(body), len(self.backends))
            answer = ExportTraceServiceResponse()
        else:
            parts = split_logs(ExportLogsServiceRequest.FromString(body), len(self.backends))
            answer = ExportLogsServiceResponse()
        worst: tuple[int, bytes, dict[str, str]] | None = None
        for index, part in enumerate(parts):
            if not part.ByteSize():
                continue
            status, reply, headers = _post(f"{self.backends[index]}{path}", part.SerializeToString())
            if status // 100 == 2:
                with self._lock:
                    self.forwarded[index] += 1
            elif worst is None or status > worst[0]:
                worst = (status, reply, headers)
        return worst if worst is not None else (200, answer.SerializeToString(), {})


def _post(url: str, body: bytes) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": _PROTOBUF})
    try:
        with urllib.request.urlopen(request, timeout=_FORWARD_TIMEOUT) as response:
            return response.status, response.read(), {}
    except urllib.error.HTTPError as error:
        retry = error.headers.get("Retry-After")
        return error.code, error.read(), ({"Retry-After": retry} if retry else {})
    except OSError:  # the backend is down: the sender should retry later
        return 503, b"", {"Retry-After": "1"}


def _handler_for(router: TraceRouter) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if 0 < length <= _MAX_BODY_BYTES else b""
            if self.path not in ("/v1/traces", "/v1/logs") or not body:
                self.close_connection = True  # a body left unread would be taken for the next request
                self._answer(404 if self.path not in ("/v1/traces", "/v1/logs") else 400, b"", {})
                return
            if (self.headers.get("Content-Type") or "").split(";")[0].strip() != _PROTOBUF:
                self._answer(415, b"the trace router takes OTLP protobuf only", {})
                return
            if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                body = gzip.decompress(body)
            try:
                status, reply, headers = router.route(self.path, body)
            except Exception as error:  # noqa: BLE001 - a body that is not OTLP
                self._answer(400, f"not an OTLP export: {error}".encode(), {})
                return
            self._answer(status, reply, headers)

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", _PROTOBUF)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            """Quiet: tests read their own output."""

    return Handler


__all__ = ["TraceRouter", "backend_index", "split_logs", "split_traces"]
