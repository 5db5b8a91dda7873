"""Calling an OpenAI-compatible chat model for a judge's verdict, with retries and rate limits.

One ``JudgeClient`` per endpoint is shared by every judged scorer of a process, so what one
call learns about the endpoint (a 429 asking to wait) holds back every other call too: a
``RateGate`` makes all threads wait until the ``Retry-After`` time has passed, and can also
space requests to a fixed rate. Connections are kept alive, one per worker thread, on the
standard library's ``http.client`` (no OpenAI client, so judge calls are never traced by our
OpenAI instrumentation and never pile their own retries on top of ours).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import random
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from otel_feedback_core.retry_after import parse_retry_after

logger = logging.getLogger(__name__)

JUDGE_MODEL_ENV = "OTEL_FEEDBACK_JUDGE_MODEL"
JUDGE_RPM_ENV = "OTEL_FEEDBACK_JUDGE_RPM"
DEFAULT_JUDGE_MODEL = "openai:/gpt-4o-mini"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Statuses worth retrying: rate limited, overloaded, or a transient server/proxy fault.
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_RETRIES = 6
MAX_RETRY_AFTER_SECONDS = 120.0
REQUEST_TIMEOUT_SECONDS = 120.0


class JudgeError(RuntimeError):
    """The judge model could not give a verdict (the message says why)."""


def parse_model_uri(model: str | None) -> str:
    """The model name in ``openai:/gpt-4o-mini`` (or a bare ``gpt-4o-mini``).

    ``None`` means ``$OTEL_FEEDBACK_JUDGE_MODEL``, else ``openai:/gpt-4o-mini``. Any
    OpenAI-compatible server is reached through the ``openai`` provider and ``OPENAI_BASE_URL``.
    """
    uri = model or os.environ.get(JUDGE_MODEL_ENV) or DEFAULT_JUDGE_MODEL
    if not isinstance(uri, str) or not uri.strip():
        raise ValueError("the judge model must be a string such as 'openai:/gpt-4o-mini'")
    uri = uri.strip()
    if ":" not in uri:
        return uri
    provider, _, name = uri.partition(":")
    name = name.lstrip("/")
    if provider.lower() != "openai" or not name:
        raise ValueError(
            f"judge model {uri!r} is not supported: use 'openai:/<model>' (any OpenAI-compatible server "
            "works; point OPENAI_BASE_URL at it)"
        )
    return name


@dataclass(frozen=True)
class ChatAnswer:
    """The text of a chat completion and the model that produced it."""

    text: str
    model: str | None


class RateGate:
    """Holds every caller until a shared resume time, and optionally spaces calls evenly.

    ``pause(seconds)`` (after a 429) pushes the resume time for everyone; ``wait()`` sleeps
    until it has passed and, with ``requests_per_minute``, until this caller's slot comes.
    """

    def __init__(self, *, requests_per_minute: float | None = None) -> None:
        if requests_per_minute is not None and requests_per_minute <= 0:
            raise ValueError(f"requests_per_minute must be positive; got {requests_per_minute!r}")
        self._interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._lock = threading.Lock()
        self._resume_at = 0.0
        self._next_slot = 0.0

    def pause(self, seconds: float) -> None:
        """Nobody sends before ``seconds`` from now."""
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def wait(self) -> None:
        """Sleep until this caller may send."""
        while True:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._resume_at, self._next_slot)
                if start <= now:
                    if self._interval:
                        self._next_slot = now + self._interval
                    return
                if self._interval and self._resume_at <= now:
                    # Take the slot now, so callers queue in order rather than racing for it.
                    self._next_slot = start + self._interval
                    delay, reserved = start - now, True
                else:
                    delay, reserved = start - now, False
            time.sleep(delay)
            if reserved:
                return


def _requests_per_minute_from_env() -> float | None:
    raw = os.environ.get(JUDGE_RPM_ENV, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
        if value > 0:
            return value
    except ValueError:
        pass
    logger.warning("otel_feedback: ignoring %s=%r; it must be a positive number of requests per minute", JUDGE_RPM_ENV, raw)
    return None


class JudgeClient:
    """Sends chat completions to one OpenAI-compatible endpoint (``base_url`` ends in ``/v1``)."""

    def __init__(self, *, base_url: str, api_key: str | None, requests_per_minute: float | None = None) -> None:
        parsed = urllib.parse.urlsplit(base_url.rstrip("/"))
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"the judge base URL must be an http(s) URL such as http://127.0.0.1:8000/v1; got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._scheme = parsed.scheme
        self._host = parsed.hostname
        self._port = parsed.port
        self._path = (parsed.path or "") + "/chat/completions"
        self._api_key = api_key
        self.gate = RateGate(requests_per_minute=requests_per_minute)
        self._local = threading.local()

    def complete(self, *, model: str, messages: list[dict[str, str]], json_mode: bool = True) -> ChatAnswer:
        """One chat completion; retries rate limits (honouring ``Retry-After``) and transient faults.

        Raises ``JudgeError`` when the endpoint keeps failing or answers with a client error.
        """
        body: dict[str, Any] = {"model": model, "messages": messages, "temperature": 0}
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        payload = json.dumps(body).encode("utf-8")
        for attempt in range(MAX_RETRIES + 1):
            self.gate.wait()
            try:
                status, headers, data = self._post(payload)
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                if attempt == MAX_RETRIES:
                    raise JudgeError(f"the judge at {self.base_url} could not be reached: {exc}") from exc
                time.sleep(_backoff(attempt))
                continue
            if status == 200:
                return _chat_answer(data)
            message = _error_message(data)
            if status in RETRYABLE_STATUSES and attempt < MAX_RETRIES:
                delay = parse_retry_after(headers.get("retry-after"), limit=MAX_RETRY_AFTER_SECONDS)
                if delay is None:
                    delay = _backoff(attempt)
                if status == 429 or headers.get("retry-after"):
                    self.gate.pause(delay)
                    logger.info("otel_feedback: judge rate limited (%s); all judge calls wait %.2f s", status, delay)
                else:
                    time.sleep(delay)
                continue
            raise JudgeError(f"the judge at {self.base_url} answered HTTP {status}: {message}")
        raise JudgeError(f"the judge at {self.base_url} kept failing after {MAX_RETRIES} retries")  # pragma: no cover

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if self._scheme == "https":
                connection = http.client.HTTPSConnection(self._host, self._port, timeout=REQUEST_TIMEOUT_SECONDS)
            else:
                connection = http.client.HTTPConnection(self._host, self._port, timeout=REQUEST_TIMEOUT_SECONDS)
            self._local.connection = connection
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()

    def _post(self, payload: bytes) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        connection = self._connection()
        connection.request("POST", self._path, body=payload, headers=headers)
        if connection.sock is not None:
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        response = connection.getresponse()
        data = response.read()
        if response.will_close:
            self._drop_connection()
        return response.status, {key.lower(): value for key, value in response.getheaders()}, data


def _chat_answer(data: bytes) -> ChatAnswer:
    try:
        parsed = json.loads(data)
        text = parsed["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise JudgeError(f"the judge's answer is not a chat completion: {data[:200]!r}") from exc
    return ChatAnswer(text=text if isinstance(text, str) else "", model=parsed.get("model"))


def _error_message(data: bytes) -> str:
    try:
        error = json.loads(data).get("error") or {}
        return str(error.get("message") or error)
    except (ValueError, AttributeError):
        return data[:200].decode("utf-8", "replace")


def _backoff(attempt: int) -> float:
    return min(0.5 * 2**attempt, 30.0) * (0.5 + random.random() / 2)


_clients: dict[tuple[str, str | None], JudgeClient] = {}
_clients_lock = threading.Lock()


def judge_client(base_url: str | None = None) -> JudgeClient:
    """The shared client for ``base_url`` (default ``$OPENAI_BASE_URL``, else OpenAI's API)."""
    url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    api_key = os.environ.get("OPENAI_API_KEY")
    key = (url, api_key)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = JudgeClient(base_url=url, api_key=api_key, requests_per_minute=_requests_per_minute_from_env())
            _clients[key] = client
        return client
