"""The OpenAI wire formats: turning a ``Reply`` into JSON bodies and streamed chunks/events.

Everything here is pure (no I/O), so the server module only routes and writes bytes.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import re
import struct
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from otel_feedback_testing._replies import ModelRequest, Reply, ToolCall, count_tokens

_PIECE = re.compile(r"\s*\S+|\s+$")
DEFAULT_EMBEDDING_DIMENSIONS = 64


def new_id(prefix: str) -> str:
    """A fresh id in OpenAI's style, e.g. ``chatcmpl-3f2a...``."""
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def text_pieces(text: str) -> list[str]:
    """``text`` split into word-sized pieces (leading spaces kept) that join back to it."""
    return _PIECE.findall(text) or [text]


def _halves(text: str) -> list[str]:
    middle = len(text) // 2
    return [piece for piece in (text[:middle], text[middle:]) if piece]


@dataclass(frozen=True)
class Answer:
    """A reply bound to one request: ids, timestamps and token usage fixed once."""

    request: ModelRequest
    reply: Reply
    id: str
    created: int
    tool_call_ids: tuple[str, ...]

    @property
    def prompt_tokens(self) -> int:
        """Whitespace tokens in the request's messages."""
        return count_tokens(self.request.prompt_text)

    @property
    def completion_tokens(self) -> int:
        """Whitespace tokens in the answer text, tool names and arguments."""
        total = count_tokens(self.reply.text or "")
        for call in self.reply.tool_calls:
            total += 1 + count_tokens(call.arguments_json)
        return total

    def chat_usage(self) -> dict[str, int]:
        """Usage in the Chat Completions / Completions layout."""
        prompt, completion = self.prompt_tokens, self.completion_tokens
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def bind_answer(request: ModelRequest, reply: Reply, *, id_prefix: str) -> Answer:
    """Fix ids and the ``max_tokens`` cut for ``reply`` to ``request``."""
    reply = _apply_token_limit(request, reply)
    call_ids = tuple(call.id or new_id("call_") for call in reply.tool_calls)
    return Answer(request=request, reply=reply, id=new_id(id_prefix), created=int(time.time()), tool_call_ids=call_ids)


def _apply_token_limit(request: ModelRequest, reply: Reply) -> Reply:
    body = request.body
    limit = body.get("max_completion_tokens") or body.get("max_tokens") or body.get("max_output_tokens")
    if not isinstance(limit, int) or not reply.text:
        return reply
    words = text_pieces(reply.text)
    if count_tokens(reply.text) <= limit:
        return reply
    return replace(reply, text="".join(words[:limit]), finish_reason="length")


# -- chat completions --------------------------------------------------------------------------
def _tool_call_json(call: ToolCall, call_id: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments_json}}


def chat_completion(answer: Answer) -> dict[str, Any]:
    """A ``chat.completion`` object."""
    reply = answer.reply
    message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [_tool_call_json(c, i) for c, i in zip(reply.tool_calls, answer.tool_call_ids)]
    return {
        "id": answer.id,
        "object": "chat.completion",
        "created": answer.created,
        "model": answer.request.model,
        "system_fingerprint": "fp_local",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.resolved_finish_reason}],
        "usage": answer.chat_usage(),
    }


def chat_completion_chunks(answer: Answer, *, include_usage: bool) -> Iterator[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed answer, usage chunk last if asked."""
    base = {
        "id": answer.id,
        "object": "chat.completion.chunk",
        "created": answer.created,
        "model": answer.request.model,
        "system_fingerprint": "fp_local",
    }

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**base, "choices": [choice], **({"usage": None} if include_usage else {})}

    reply = answer.reply
    yield chunk({"role": "assistant", "content": "", "refusal": None})
    if reply.text:
        for piece in text_pieces(reply.text):
            yield chunk({"content": piece})
    for index, (call, call_id) in enumerate(zip(reply.tool_calls, answer.tool_call_ids)):
        head = {"index": index, "id": call_id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        yield chunk({"tool_calls": [head]})
        for piece in _halves(call.arguments_json):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, reply.resolved_finish_reason)
    if include_usage:
        yield {**base, "choices": [], "usage": answer.chat_usage()}


# -- legacy completions ------------------------------------------------------------------------
def text_completion(answer: Answer) -> dict[str, Any]:
    """A ``text_completion`` object."""
    return {
        "id": answer.id,
        "object": "text_completion",
        "created": answer.created,
        "model": answer.request.model,
        "choices": [
            {"index": 0, "text": answer.reply.text or "", "logprobs": None,
             "finish_reason": answer.reply.resolved_finish_reason}
        ],
        "usage": answer.chat_usage(),
    }


def text_completion_chunks(answer: Answer, *, include_usage: bool) -> Iterator[dict[str, Any]]:
    """The streamed ``text_completion`` objects, usage chunk last if asked."""
    base = {"id": answer.id, "object": "text_completion", "created": answer.created, "model": answer.request.model}
    pieces = text_pieces(answer.reply.text or "")
    for position, piece in enumerate(pieces):
        finish = answer.reply.resolved_finish_reason if position == len(pieces) - 1 else None
        yield {**base, "choices": [{"index": 0, "text": piece, "logprobs": None, "finish_reason": finish}]}
    if include_usage:
        yield {**base, "choices": [], "usage": answer.chat_usage()}


# -- responses ---------------------------------------------------------------------------------
def _responses_usage(answer: Answer) -> dict[str, Any]:
    prompt, completion = answer.prompt_tokens, answer.completion_tokens
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def _message_item(answer: Answer, text: str, status: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []}] if status == "completed" else []
    return {"id": f"msg_{answer.id[5:]}", "type": "message", "status": status, "role": "assistant", "content": content}


def _function_item(call: ToolCall, call_id: str, arguments: str, status: str) -> dict[str, Any]:
    return {"id": f"fc_{call_id[5:]}", "type": "function_call", "status": status, "call_id": call_id,
            "name": call.name, "arguments": arguments}


def _output_items(answer: Answer) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if answer.reply.text is not None:
        items.append(_message_item(answer, answer.reply.text, "completed"))
    for call, call_id in zip(answer.reply.tool_calls, answer.tool_call_ids):
        items.append(_function_item(call, call_id, call.arguments_json, "completed"))
    return items


def response_object(answer: Answer, *, completed: bool = True) -> dict[str, Any]:
    """A Responses API ``response`` object (``in_progress`` and empty when not ``completed``)."""
    body = answer.request.body
    status = "completed" if completed else "in_progress"
    incomplete = completed and answer.reply.resolved_finish_reason == "length"
    return {
        "id": answer.id,
        "object": "response",
        "created_at": answer.created,
        "status": "incomplete" if incomplete else status,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "error": None,
        "model": answer.request.model,
        "instructions": body.get("instructions"),
        "output": _output_items(answer) if completed else [],
        "parallel_tool_calls": True,
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "max_output_tokens": body.get("max_output_tokens"),
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": list(body.get("tools") or ()),
        "text": body.get("text") or {"format": {"type": "text"}},
        "usage": _responses_usage(answer) if completed else None,
        "metadata": body.get("metadata") or {},
    }


def response_events(answer: Answer) -> Iterator[tuple[str, dict[str, Any]]]:
    """The ``(event name, data)`` pairs of a streamed Responses API answer."""
    sequence = 0

    def event(name: str, **data: Any) -> tuple[str, dict[str, Any]]:
        nonlocal sequence
        sequence += 1
        return name, {"type": name, "sequence_number": sequence - 1, **data}

    yield event("response.created", response=response_object(answer, completed=False))
    yield event("response.in_progress", response=response_object(answer, completed=False))
    output_index = 0
    text = answer.reply.text
    if text is not None:
        item_id = f"msg_{answer.id[5:]}"
        yield event("response.output_item.added", output_index=0, item=_message_item(answer, "", "in_progress"))
        empty_part = {"type": "output_text", "text": "", "annotations": []}
        yield event("response.content_part.added", item_id=item_id, output_index=0, content_index=0, part=empty_part)
        for piece in text_pieces(text) if text else []:
            yield event("response.output_text.delta", item_id=item_id, output_index=0, content_index=0,
                        delta=piece, logprobs=[])
        yield event("response.output_text.done", item_id=item_id, output_index=0, content_index=0, text=text,
                    logprobs=[])
        yield event("response.content_part.done", item_id=item_id, output_index=0, content_index=0,
                    part={**empty_part, "text": text})
        yield event("response.output_item.done", output_index=0, item=_message_item(answer, text, "completed"))
        output_index = 1
    for offset, (call, call_id) in enumerate(zip(answer.reply.tool_calls, answer.tool_call_ids)):
        index = output_index + offset
        item_id = f"fc_{call_id[5:]}"
        yield event("response.output_item.added", output_index=index, item=_function_item(call, call_id, "", "in_progress"))
        for piece in _halves(call.arguments_json):
            yield event("response.function_call_arguments.delta", item_id=item_id, output_index=index, delta=piece)
        yield event("response.function_call_arguments.done", item_id=item_id, output_index=index,
                    arguments=call.arguments_json)
        yield event("response.output_item.done", output_index=index,
                    item=_function_item(call, call_id, call.arguments_json, "completed"))
    yield event("response.completed", response=response_object(answer))


# -- embeddings --------------------------------------------------------------------------------
def _word_vector(word: str, dimensions: int) -> list[float]:
    rng = random.Random(hashlib.sha256(word.encode("utf-8")).digest())
    return [rng.gauss(0.0, 1.0) for _ in range(dimensions)]


def embed_text(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector for ``text``: the normalized sum of hashed word vectors.

    Texts that share words point in similar directions, so cosine similarity behaves
    plausibly for a demo retriever.
    """
    total = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()) or [text]:
        for position, value in enumerate(_word_vector(word, dimensions)):
            total[position] += value
    norm = math.sqrt(sum(value * value for value in total)) or 1.0
    return [value / norm for value in total]


def _embedding_inputs(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, Sequence) and raw and all(isinstance(item, int) for item in raw):
        return [" ".join(str(token) for token in raw)]  # one input given as token ids
    if isinstance(raw, Sequence):
        return [item if isinstance(item, str) else " ".join(str(t) for t in item) for item in raw]
    raise ValueError("input must be a string, a list of strings, or token ids")


def embeddings(body: Mapping[str, Any]) -> dict[str, Any]:
    """A ``list`` of embeddings for the request's ``input`` (floats or base64, as asked)."""
    texts = _embedding_inputs(body.get("input", ""))
    dimensions = body.get("dimensions") or DEFAULT_EMBEDDING_DIMENSIONS
    if not isinstance(dimensions, int) or dimensions < 1:
        raise ValueError("dimensions must be a positive integer")
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(texts):
        vector = embed_text(text, dimensions)
        encoded: Any = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode() if as_base64 else vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(count_tokens(text) for text in texts)
    return {
        "object": "list",
        "data": data,
        "model": str(body.get("model", "")),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


# -- models and errors -------------------------------------------------------------------------
def model_list(names: Sequence[str]) -> dict[str, Any]:
    """The ``GET /v1/models`` body."""
    return {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "otel-feedback"}
                                       for n in names]}


_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error", 429: "rate_limit_exceeded"}


def error_body(status: int, message: str) -> dict[str, Any]:
    """An OpenAI-style error body."""
    kind = _ERROR_TYPES.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}
