"""``ChatAppServer``: the app's function behind ``/v1/chat/completions`` on stdlib ``http.server``.

One thread per request (``ThreadingHTTPServer``), so the W3C context a request carries is
attached in that thread only and every span the app starts while answering is in the caller's
trace. After each answer the finished spans are exported in the background, so a turn's trace
reaches the collector about when the person reads the answer, not on the exporter's schedule.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry import context as context_api
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from otel_feedback import _config
from otel_feedback.chat_app import _openai_shapes as shapes
from otel_feedback.chat_app._function import ChatFunction
from otel_feedback.chat_app._turn_fields import install_turn_fields, turn_fields

logger = logging.getLogger(__name__)

SESSION_HEADER = "X-Session-Id"
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_SESSION_ID_LENGTH = 256
_W3C = TraceContextTextMapPropagator()


class _RequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ChatAppServer:
    """Serve ``function`` as an OpenAI-compatible chat endpoint on ``host:port`` (0: a free port)."""

    def __init__(self, function: ChatFunction | Any, *, host: str = "127.0.0.1", port: int = 8000,
                 model: str | None = None) -> None:
        self.function = function if isinstance(function, ChatFunction) else ChatFunction(function)
        self.model = model or self.function.name
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.chat_app = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        self._flush_guard = threading.Lock()
        self._flush_wanted = False
        self._flusher: threading.Thread | None = None
        install_turn_fields()

    @property
    def base_url(self) -> str:
        """The OpenAI base URL: ``http://HOST:PORT/v1``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def serve_forever(self) -> None:
        """Answer requests in this thread until :meth:`stop` (or Ctrl-C) ends it."""
        self._httpd.serve_forever(poll_interval=0.2)

    def start(self) -> ChatAppServer:
        """Answer requests in a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="otel-feedback-chat-app", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ChatAppServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def flush_soon(self) -> None:
        """Export finished spans in a background thread (one at a time; a later turn's ask is kept)."""
        with self._flush_guard:
            self._flush_wanted = True
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(target=self._flush_while_wanted, name="otel-feedback-chat-app-flush",
                                             daemon=True)
            self._flusher.start()

    def _flush_while_wanted(self) -> None:
        while True:
            with self._flush_guard:
                if not self._flush_wanted:
                    self._flusher = None
                    return
                self._flush_wanted = False
            try:
                _config.flush(timeout_millis=10_000)
            except Exception:  # noqa: BLE001 - an export problem must not end the server
                logger.warning("otel_feedback chat-app: exporting the spans failed", exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "otel-feedback-chat-app"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small SSE writes go out at once

    @property
    def app(self) -> ChatAppServer:
        return self.server.chat_app  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        logger.info("chat-app: " + format, *args)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.split("?", 1)[0].rstrip("/") == "/v1/models":
            self._send_json(200, shapes.model_list(self.app.model))
        else:
            self._send_json(404, shapes.error("This server answers GET /v1/models and POST /v1/chat/completions.",
                                              kind="not_found"))

    def do_POST(self) -> None:  # noqa: N802
        if self.path.split("?", 1)[0].rstrip("/") != "/v1/chat/completions":
            self._send_json(404, shapes.error("This server answers POST /v1/chat/completions.", kind="not_found"))
            return
        try:
            body = self._read_json()
            messages = shapes.request_messages(body)
            self.app.function.check(messages)
            session = self._session_id()
        except _RequestError as error:
            self._send_json(error.status, shapes.error(error.message, kind="invalid_request_error"))
            return
        except ValueError as error:
            self._send_json(400, shapes.error(str(error), kind="invalid_request_error"))
            return
        user = body.get("user") if isinstance(body.get("user"), str) else None
        token = context_api.attach(_W3C.extract(self.headers))
        try:
            with turn_fields(session=session, user=user):
                if body.get("stream"):
                    self._stream(messages)
                else:
                    self._complete(messages)
        finally:
            context_api.detach(token)
            self.app.flush_soon()

    # -- answering ------------------------------------------------------------------------------
    def _complete(self, messages: list[dict[str, Any]]) -> None:
        try:
            answer = self.app.function.answer(messages)
            text = answer if isinstance(answer, str) else "".join(answer)
        except Exception as error:  # noqa: BLE001 - the app's failure becomes the answer's error
            self._send_app_error(error)
            return
        self._send_json(200, shapes.completion(shapes.completion_id(), self.app.model, text))

    def _stream(self, messages: list[dict[str, Any]]) -> None:
        try:
            answer = self.app.function.answer(messages)
        except Exception as error:  # noqa: BLE001
            self._send_app_error(error)
            return
        pieces: Iterator[str] = iter((answer,)) if isinstance(answer, str) else answer
        answer_id = shapes.completion_id()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            self._event(shapes.chunk(answer_id, self.app.model, role=True, content=""))
            try:
                for piece in pieces:
                    if piece:
                        self._event(shapes.chunk(answer_id, self.app.model, content=piece))
            except (BrokenPipeError, ConnectionResetError):
                raise
            except Exception as error:  # noqa: BLE001 - headers are out: the error travels as an event
                logger.warning("chat-app: the app raised while streaming", exc_info=True)
                self._event(shapes.error(_app_error_message(error), kind="app_error"))
            else:
                self._event(shapes.chunk(answer_id, self.app.model, finish_reason="stop"))
            self._write_chunk(b"data: [DONE]\n\n")
            self._write_chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            logger.info("chat-app: the client left before the answer ended")
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # a traced generator's span ends now, not when it is garbage-collected

    # -- reading and writing --------------------------------------------------------------------
    def _read_json(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise _RequestError(400, "Content-Length must be a number.") from None
        if length > MAX_BODY_BYTES:
            raise _RequestError(413, f"The request body is larger than {MAX_BODY_BYTES} bytes.")
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError as exc:
            raise _RequestError(400, f"The request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise _RequestError(400, "The request body must be a JSON object.")
        return body

    def _session_id(self) -> str | None:
        session = (self.headers.get(SESSION_HEADER) or "").strip()
        if len(session) > MAX_SESSION_ID_LENGTH:
            raise _RequestError(400, f"The {SESSION_HEADER} header is longer than {MAX_SESSION_ID_LENGTH} characters.")
        return session or None

    def _send_app_error(self, error: BaseException) -> None:
        logger.warning("chat-app: the app raised", exc_info=error)
        self._send_json(500, shapes.error(_app_error_message(error), kind="app_error"))

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _event(self, payload: Any) -> None:
        self._write_chunk(b"data: " + json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


def _app_error_message(error: BaseException) -> str:
    return f"The app raised {type(error).__name__}: {error}"
