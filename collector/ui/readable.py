"""The text a person reads in a span's input or output: the question, not its JSON wrapper.

A traced function's input is its arguments as JSON (``{"user_question": "What is MLflow?"}``);
a chat call's input is ``{"messages": [...]}``; its output an OpenAI ``choices`` answer. A table
cell of that JSON shows braces and key names and cuts the question off. :func:`readable_text`
picks the part a person asks or reads:

* a chat (a list of ``{"role", "content"}``, or ``{"messages": [...]}``): the last message of
  the wanted role (the user's for a request, the assistant's for a response), else the last;
* an OpenAI answer (``choices``) or a Responses-API ``output_text``: the answer's text;
* an object with one entry, or with a well-known key (``question``, ``query``, ``prompt``,
  ``input``, ...): that entry, read the same way;
* any other object: ``key: value`` pairs as plain text; a JSON string: the string itself;
  text that is not JSON: itself. A cut-off JSON preview still gives its first string value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from otel_feedback_collector.storage.schema import PREVIEW_CHARS

# Keys whose value is the thing a person reads, most telling first.
_REQUEST_KEYS = ("question", "user_question", "query", "prompt", "input", "message", "text", "content", "messages")
_RESPONSE_KEYS = ("answer", "response", "output", "output_text", "result", "text", "content", "message", "messages")
# How deep into nested JSON a value is looked for (a deep value is unreadable anyway).
_MAX_DEPTH = 6
# The first string value of an object, even when the JSON is cut off after it.
_FIRST_STRING = re.compile(r'^\s*\{\s*"(?:[^"\\]|\\.)*"\s*:\s*"((?:[^"\\]|\\.)*)')


def readable_text(value: str | None, *, role: str = "user") -> str:
    """The text a person reads in ``value`` (a span's input when ``role`` is ``"user"``, its
    output when ``"assistant"``); empty for None."""
    if value is None:
        return ""
    text = value.strip()
    if not text or text[0] not in '{["':
        return text
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        cut = _FIRST_STRING.match(text)
        return _unescape(cut.group(1)) if cut else text
    return _readable(parsed, role, 0).strip()


def _unescape(fragment: str) -> str:
    try:
        return json.loads(f'"{fragment}"')
    except ValueError:  # cut inside an escape
        return fragment


def _readable(value: Any, role: str, depth: int) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if depth >= _MAX_DEPTH:
        return _compact(value)
    if isinstance(value, list):
        if _is_chat(value):
            return _chat_text(value, role, depth)
        return "\n".join(part for part in (_readable(item, role, depth + 1) for item in value[:20]) if part)
    if isinstance(value, dict):
        return _object_text(value, role, depth)
    return str(value)


def _object_text(value: dict[str, Any], role: str, depth: int) -> str:
    choices = value.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        first = choices[0]
        message = first.get("message")
        if isinstance(message, dict):
            return _content_text(message.get("content"), role, depth)
        return _readable(first.get("text"), role, depth + 1)
    if "role" in value and "content" in value:  # one chat message
        return _content_text(value.get("content"), role, depth)
    if len(value) == 1:
        return _readable(next(iter(value.values())), role, depth + 1)
    keys = _REQUEST_KEYS if role == "user" else _RESPONSE_KEYS
    for key in keys:
        if key in value and value[key] not in (None, "", [], {}):
            return _readable(value[key], role, depth + 1)
    return "\n".join(f"{key}: {_readable(item, role, depth + 1)}" for key, item in list(value.items())[:20])


def _is_chat(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "role" in item for item in items)


def _chat_text(messages: list[dict[str, Any]], role: str, depth: int) -> str:
    wanted = [message for message in messages if message.get("role") == role]
    chosen = (wanted or messages)[-1]
    return _content_text(chosen.get("content"), role, depth)


def _content_text(content: Any, role: str, depth: int) -> str:
    """A message's content: a string, or a list of parts (``{"type": "text", "text": ...}``)."""
    if isinstance(content, list):
        texts = [part.get("text") for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)]
        if texts:
            return "\n".join(texts)
    return _readable(content, role, depth + 1)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))[:500]


def cut_previews(rows: Iterable[Mapping[str, Any]], *, request_key: str = "request_preview",
                 response_key: str = "response_preview") -> list[str]:
    """Ids of the ``traces`` rows whose request or response preview may be cut (it is as long as
    a preview gets): only those need their root span's full values read."""
    return [
        row["trace_id"] for row in rows
        if len(row.get(request_key) or "") >= PREVIEW_CHARS or len(row.get(response_key) or "") >= PREVIEW_CHARS
    ]


def request_and_response(
    row: Mapping[str, Any], root_values: Mapping[str, tuple[str | None, str | None]]
) -> tuple[str, str]:
    """The readable request and response of a ``traces`` row: from its root span's full
    values when known (``root_values``, by trace id), else from the row's previews."""
    request, response = root_values.get(row["trace_id"], (None, None))
    return (
        readable_text(request if request is not None else row.get("request_preview"), role="user"),
        readable_text(response if response is not None else row.get("response_preview"), role="assistant"),
    )
