"""``LocalOpenAIServer``: the OpenAI HTTP API on a loopback port, answered by a responder."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from otel_feedback_testing import _payloads
from otel_feedback_testing._faults import Fault, FaultKind, FaultQueue
from otel_feedback_testing._replies import ModelRequest, Reply, Responder, RuleBasedResponder

logger = logging.getLogger(__name__)

DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "gpt-3.5-turbo-instruct")
_ID_PREFIX = {"chat.completions": "chatcmpl-", "completions": "cmpl-", "responses": "resp_"}
_MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_RECORDED_REQUESTS = 1_000


class _HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _QuietThreadingHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up (a stream closed early, a pooled connection dropped) are normal here.
        logger.debug("local model server: connection from %s ended abruptly", client_address, exc_info=True)


class LocalOpenAIServer:
    """An OpenAI-compatible HTTP server on ``127.0.0.1`` that stands in for a model.

    Start it as a context manager (``with LocalOpenAIServer() as server:``) or with
    ``start()``/``stop()``, then point any OpenAI client at ``server.base_url``.

    - ``responder``: ``responder(ModelRequest) -> str | Reply`` answers chat, completion and
      Responses requests; the default is a ``RuleBasedResponder`` (canned answers, echo).
      It may be replaced at any time (``server.responder = ...``).
    - ``latency``: seconds to wait before answering each request; ``chunk_delay``: seconds
      between streamed chunks.
    - ``add_fault(Fault.rate_limit(retry_after=2))`` and friends queue injected errors.
    - ``requests``: the ``ModelRequest`` objects received, oldest first (the last 1,000;
      embeddings excluded).
    """

    def __init__(
        self,
        *,
        responder: Responder | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        chunk_delay: float = 0.0,
        models: Sequence[str] = DEFAULT_MODELS,
    ) -> None:
        if latency < 0 or chunk_delay < 0:
            raise ValueError("latency and chunk_delay must be zero or more seconds")
        self.responder: Responder = responder if responder is not None else RuleBasedResponder()
        self.latency = latency
        self.chunk_delay = chunk_delay
        self.models = tuple(models)
        self.faults = FaultQueue()
        self.requests: deque[ModelRequest] = deque(maxlen=MAX_RECORDED_REQUESTS)
        self._host = host
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> LocalOpenAIServer:
        """Bind the port and serve in a background thread; returns ``self``."""
        if self._httpd is not None:
            raise RuntimeError("The server is already running; call stop() before starting it again.")
        httpd = _QuietThreadingHTTPServer((self._host, self._port), _Handler)
        httpd.model_server = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="local-openai-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> LocalOpenAIServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- addresses ------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound port (only while running)."""
        if self._httpd is None:
            raise RuntimeError("The server is not running; call start() first.")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The URL to give an OpenAI client (``base_url=`` or ``OPENAI_BASE_URL``), ending in ``/v1``."""
        return f"{self.url}/v1"

    # -- faults ---------------------------------------------------------------------------------
    def add_fault(self, fault: Fault, *, times: int = 1) -> None:
        """Make the next ``times`` matching requests fail as ``fault`` says."""
        self.faults.add(fault, times=times)

    # -- answering (called from handler threads) ------------------------------------------------
    def _answer(self, request: ModelRequest) -> Reply:
        self.requests.append(request)
        try:
            answer = self.responder(request)
        except Exception as exc:
            logger.exception("the local model server's responder failed")
            raise _HTTPError(500, f"The responder raised {type(exc).__name__}: {exc}") from exc
        if isinstance(answer, str):
            return Reply(text=answer)
        if isinstance(answer, Reply):
            return answer
        raise _HTTPError(500, f"The responder must return a str or a Reply; it returned {type(answer).__name__}.")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "otel-feedback-local-model/0.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def model_server(self) -> LocalOpenAIServer:
        return self.server.model_server  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        logger.debug("local model server: " + format, *args)

    # -- routing --------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/v1/models":
            self._send_json(200, _payloads.model_list(self.model_server.models))
        else:
            self._send_error(404, f"No route for GET {path}; this server serves /v1/models.")

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0].rstrip("/")
        endpoint = {
            "/v1/chat/completions": "chat.completions",
            "/v1/completions": "completions",
            "/v1/responses": "responses",
            "/v1/embeddings": "embeddings",
        }.get(path)
        try:
            if endpoint is None:
                raise _HTTPError(404, f"No route for POST {path}.")
            body = self._read_json()
            streaming = bool(body.get("stream"))
            fault = self.model_server.faults.take(endpoint, streaming=streaming)
            if self.model_server.latency:
                time.sleep(self.model_server.latency)
            if fault is not None and fault.kind is FaultKind.HTTP_ERROR:
                self._send_fault(fault)
                return
            if endpoint == "embeddings":
                self._send_json(200, _payloads.embeddings(body))
                return
            request = ModelRequest.from_body(endpoint, body)
            answer = _payloads.bind_answer(request, self.model_server._answer(request),
                                           id_prefix=_ID_PREFIX[endpoint])
            if streaming:
                self._stream(endpoint, answer, body, fault)
            else:
                self._send_json(200, _non_streamed(endpoint, answer))
        except _HTTPError as error:
            self._send_error(error.status, error.message)
        except ValueError as error:
            self._send_error(400, str(error))

    # -- reading --------------------------------------------------------------------------------
    def _read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY_BYTES:
            raise _HTTPError(413, "The request body is too large for the local model server.")
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            raise _HTTPError(400, f"The request body is not valid JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise _HTTPError(400, "The request body must be a JSON object.")
        return body

    # -- writing --------------------------------------------------------------------------------
    def _send_json(self, status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, message: str) -> None:
        self._send_json(status, _payloads.error_body(status, message))

    def _send_fault(self, fault: Fault) -> None:
        headers = []
        if fault.retry_after is not None:
            headers.append(("Retry-After", f"{fault.retry_after:g}"))
        self._send_json(fault.status, _payloads.error_body(fault.status, fault.message), headers)

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))

    def _stream(self, endpoint: str, answer: _payloads.Answer, body: dict[str, Any], fault: Fault | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        delay = self.model_server.chunk_delay
        try:
            for sent, event in enumerate(_sse_events(endpoint, answer, body)):
                if fault is not None and sent == fault.after_chunks:
                    self._break_stream(endpoint, fault)
                    return
                if delay and sent:
                    time.sleep(delay)
                self._write_chunk(event)
            if endpoint != "responses":
                self._write_chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (e.g. closed the stream early)

    def _break_stream(self, endpoint: str, fault: Fault) -> None:
        if fault.kind is FaultKind.STREAM_DISCONNECT:
            # Promise more bytes than we send, then hang up: the client sees a truncated body.
            self.wfile.write(b"400\r\ndata: {")
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if endpoint == "responses":
            event = _sse("error", {"type": "error", "code": "server_error", "message": fault.message, "param": None})
        else:
            event = _sse(None, {"error": {"message": fault.message, "type": "server_error", "code": None}})
        self._write_chunk(event)
        self.wfile.write(b"0\r\n\r\n")


def _sse(event: str | None, data: Any) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def _sse_events(endpoint: str, answer: _payloads.Answer, body: dict[str, Any]) -> Iterator[bytes]:
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    if endpoint == "chat.completions":
        for chunk in _payloads.chat_completion_chunks(answer, include_usage=include_usage):
            yield _sse(None, chunk)
    elif endpoint == "completions":
        for chunk in _payloads.text_completion_chunks(answer, include_usage=include_usage):
            yield _sse(None, chunk)
    else:
        for name, data in _payloads.response_events(answer):
            yield _sse(name, data)


def _non_streamed(endpoint: str, answer: _payloads.Answer) -> dict[str, Any]:
    if endpoint == "chat.completions":
        return _payloads.chat_completion(answer)
    if endpoint == "completions":
        return _payloads.text_completion(answer)
    return _payloads.response_object(answer)


__all__ = ["DEFAULT_MODELS", "LocalOpenAIServer"]
