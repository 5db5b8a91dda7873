"""The OpenAI chat-completions shapes the chat app reads and writes (only what it needs)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from otel_feedback.chat_app._function import Message

MAX_MESSAGES = 1000


def request_messages(body: dict[str, Any]) -> list[Message]:
    """The request's ``messages``, checked: a non-empty list of objects with a string ``role``."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("The request needs 'messages': a non-empty list of {'role': ..., 'content': ...}.")
    if len(messages) > MAX_MESSAGES:
        raise ValueError(f"The request has {len(messages)} messages; send at most {MAX_MESSAGES}.")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise ValueError(f"messages[{index}] must be an object with a string 'role'.")
    return messages


def completion_id() -> str:
    """A fresh ``chatcmpl-...`` id for one answer."""
    return f"chatcmpl-{uuid.uuid4().hex}"


def completion(answer_id: str, model: str, text: str) -> dict[str, Any]:
    """A whole ``chat.completion``."""
    return {
        "id": answer_id, "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }


def chunk(answer_id: str, model: str, *, content: str | None = None, role: bool = False,
          finish_reason: str | None = None) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a stream."""
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = "assistant"
    if content is not None:
        delta["content"] = content
    return {
        "id": answer_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def error(message: str, *, kind: str) -> dict[str, Any]:
    """The error body OpenAI clients read (``error.message``)."""
    return {"error": {"message": message, "type": kind, "code": None}}


def model_list(model: str) -> dict[str, Any]:
    """``GET /v1/models``: the one model this app is."""
    return {"object": "list", "data": [{"id": model, "object": "model", "created": 0, "owned_by": "otel-feedback"}]}
