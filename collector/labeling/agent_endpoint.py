"""Talking to an agent's OpenAI-compatible base URL: the one check at registration, and a chat
turn streamed back piece by piece.

Errors are :class:`AgentUnavailable` with a sentence a person can act on (what was called, what
went wrong, what to check); the chat page shows it in the conversation. ``timeout`` bounds the
connection and each wait for the next bytes, so an agent that stops answering ends the turn.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any

CHECK_TIMEOUT_SECONDS = 10.0
MAX_ERROR_BYTES = 4096


class AgentUnavailable(Exception):
    """The agent's endpoint could not be reached or did not answer as an OpenAI-compatible API."""


def normalize_base_url(url: object) -> str:
    """``url`` as a base URL (``http(s)://host[:port]/path`` without a trailing ``/`` or a
    trailing ``/chat/completions``); ValueError for anything else."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError("model_serving_endpoint must be the agent's OpenAI-compatible base URL, "
                         "e.g. http://127.0.0.1:8000/v1.")
    base = url.strip().rstrip("/")
    if base.endswith("/chat/completions"):
        base = base[: -len("/chat/completions")]
    parts = urllib.parse.urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"model_serving_endpoint must be an http:// or https:// base URL such as "
                         f"http://127.0.0.1:8000/v1; got {url!r}.")
    return base


def check_endpoint(base_url: str, *, timeout: float = CHECK_TIMEOUT_SECONDS) -> str:
    """One ``GET {base_url}/models``; the first model it lists, or :class:`AgentUnavailable`."""
    url = f"{base_url}/models"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}),
                                    timeout=timeout) as response:
            body = json.loads(response.read(1024 * 1024))
    except urllib.error.HTTPError as error:
        hint = (" The review app sends no API key, so endpoints that need one cannot be registered yet."
                if error.code in (401, 403) else " Is this the base URL (the part before /chat/completions)?")
        raise AgentUnavailable(f"GET {url} answered HTTP {error.code}.{hint}") from None
    except (urllib.error.URLError, OSError) as error:
        raise AgentUnavailable(f"Could not reach {url} ({_reason(error)}). Is the agent running there?") from None
    except ValueError:
        raise AgentUnavailable(f"GET {url} did not answer JSON; is this an OpenAI-compatible base URL?") from None
    models = body.get("data") if isinstance(body, dict) else None
    names = [entry.get("id") for entry in models or [] if isinstance(entry, dict) and isinstance(entry.get("id"), str)]
    if not names:
        raise AgentUnavailable(f"GET {url} listed no models; pass the model name with model=... "
                               "or check that this is an OpenAI-compatible base URL.")
    return str(names[0])


def stream_chat(
    base_url: str,
    *,
    model: str,
    messages: Sequence[dict[str, str]],
    headers: dict[str, str],
    user: str | None,
    timeout: float,
) -> Iterator[str]:
    """POST a streamed chat completion; yield the answer's text pieces as they arrive."""
    url = f"{base_url}/chat/completions"
    body: dict[str, Any] = {"model": model, "messages": list(messages), "stream": True}
    if user:
        body["user"] = user
    request = urllib.request.Request(
        url, data=json.dumps(body).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json", "Accept": "text/event-stream", **headers},
    )
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - a registered http(s) URL
    except urllib.error.HTTPError as error:
        raise AgentUnavailable(f"The agent answered HTTP {error.code}: {_error_message(error)}") from None
    except (urllib.error.URLError, OSError) as error:
        raise AgentUnavailable(_unreachable(base_url, error, timeout)) from None
    with response:
        try:
            if response.headers.get_content_type() == "application/json":  # a server that does not stream
                yield _whole_answer(json.loads(response.read()))
                return
            yield from _sse_pieces(response)
        except (socket.timeout, TimeoutError, OSError) as error:
            raise AgentUnavailable(_unreachable(base_url, error, timeout)) from None
        except ValueError:
            raise AgentUnavailable("The agent answered with JSON that is not a chat completion.") from None


def _sse_pieces(response: Any) -> Iterator[str]:
    for raw in response:
        line = raw.decode("utf-8", errors="replace").strip()
        if not line.startswith("data:"):
            continue
        data = line[len("data:"):].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except ValueError:
            raise AgentUnavailable("The agent sent a stream event that is not JSON.") from None
        if isinstance(event, dict) and event.get("error"):
            error = event["error"]
            raise AgentUnavailable(str(error.get("message") if isinstance(error, dict) else error))
        for choice in event.get("choices") or [] if isinstance(event, dict) else []:
            content = (choice.get("delta") or {}).get("content") if isinstance(choice, dict) else None
            if isinstance(content, str) and content:
                yield content


def _whole_answer(body: Any) -> str:
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise AgentUnavailable("The agent answered with JSON that is not a chat completion.") from None
    return content if isinstance(content, str) else ""


def _error_message(error: urllib.error.HTTPError) -> str:
    raw = error.read(MAX_ERROR_BYTES) or b""
    try:
        detail = json.loads(raw)["error"]
        return str(detail.get("message") if isinstance(detail, dict) else detail)
    except (ValueError, KeyError, TypeError):
        return raw.decode("utf-8", errors="replace").strip() or "no details"


def _unreachable(base_url: str, error: BaseException, timeout: float) -> str:
    reason = _reason(error)
    if isinstance(error, (socket.timeout, TimeoutError)) or "timed out" in reason:
        return f"The agent at {base_url} did not answer within {timeout:g} s. Try again, or ask its owner."
    return f"Could not reach the agent at {base_url} ({reason}). Is it running?"


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or error
    return str(getattr(reason, "strerror", None) or reason)
