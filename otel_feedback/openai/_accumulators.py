"""Assembling a streamed answer from its chunks (or events), as the chunks pass by.

An accumulator sees every item the caller reads, never changes it, and at the end gives the
span's response attributes and the assembled answer in the shape of the non-streamed result.
"""

from __future__ import annotations

from typing import Any, Protocol

from otel_feedback.openai._operations import ResultKind
from otel_feedback.openai._results import (
    dump,
    finish_reason_attributes,
    identity_attributes,
    chat_usage_attributes,
    response_attributes,
)


class StreamAccumulator(Protocol):
    """What a traced stream asks of an accumulator."""

    def add(self, item: Any) -> bool:
        """Take one streamed item; True when it carried answer content (text or a tool call)."""
        ...

    def attributes(self) -> dict[str, Any]:
        """The response attributes known so far."""
        ...

    def output(self) -> Any:
        """The answer assembled so far, shaped like the non-streamed result."""
        ...


class _Choice:
    __slots__ = ("role", "parts", "tool_calls", "finish_reason")

    def __init__(self) -> None:
        self.role = "assistant"
        self.parts: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None


class ChatAccumulator:
    """Chat Completions chunks (``chat.completion.chunk``) and legacy completion chunks."""

    def __init__(self, *, legacy_completion: bool = False) -> None:
        self._legacy = legacy_completion
        self._id: str | None = None
        self._model: str | None = None
        self._created: int | None = None
        self._choices: dict[int, _Choice] = {}
        self._usage: Any = None

    def add(self, item: Any) -> bool:
        """Fold one chunk into the answer."""
        if self._id is None:
            self._id = getattr(item, "id", None)
            self._model = getattr(item, "model", None)
            self._created = getattr(item, "created", None)
        usage = getattr(item, "usage", None)
        if usage is not None:
            self._usage = usage
        carried = False
        for choice in getattr(item, "choices", None) or ():
            state = self._choices.get(choice.index)
            if state is None:
                state = self._choices[choice.index] = _Choice()
            if getattr(choice, "finish_reason", None):
                state.finish_reason = choice.finish_reason
            if self._legacy:
                text = getattr(choice, "text", None)
                if text:
                    state.parts.append(text)
                    carried = True
                continue
            delta = getattr(choice, "delta", None)
            if delta is None:
                continue
            if getattr(delta, "role", None):
                state.role = delta.role
            if delta.content:
                state.parts.append(delta.content)
                carried = True
            for call in getattr(delta, "tool_calls", None) or ():
                carried = True
                self._add_tool_call(state, call)
        return carried

    @staticmethod
    def _add_tool_call(state: _Choice, call: Any) -> None:
        entry = state.tool_calls.get(call.index)
        if entry is None:
            entry = state.tool_calls[call.index] = {"id": None, "type": "function", "name": None, "arguments": []}
        if getattr(call, "id", None):
            entry["id"] = call.id
        function = getattr(call, "function", None)
        if function is not None:
            if getattr(function, "name", None):
                entry["name"] = function.name
            if getattr(function, "arguments", None):
                entry["arguments"].append(function.arguments)

    def attributes(self) -> dict[str, Any]:
        """Response id, model, finish reasons and usage (from the final chunk, when sent)."""
        return {
            **identity_attributes(self._id, self._model),
            **finish_reason_attributes([self._choices[i].finish_reason for i in sorted(self._choices)]),
            **chat_usage_attributes(self._usage),
        }

    def output(self) -> dict[str, Any]:
        """A ``chat.completion`` (or ``text_completion``) dict of the assembled answer."""
        choices = []
        for index in sorted(self._choices):
            state = self._choices[index]
            text = "".join(state.parts)
            if self._legacy:
                choices.append({"index": index, "text": text, "finish_reason": state.finish_reason})
                continue
            message: dict[str, Any] = {"role": state.role, "content": text or None}
            if state.tool_calls:
                message["tool_calls"] = [
                    {"id": call["id"], "type": call["type"],
                     "function": {"name": call["name"], "arguments": "".join(call["arguments"])}}
                    for _, call in sorted(state.tool_calls.items())
                ]
            choices.append({"index": index, "message": message, "finish_reason": state.finish_reason})
        output: dict[str, Any] = {
            "id": self._id,
            "object": "text_completion" if self._legacy else "chat.completion",
            "created": self._created,
            "model": self._model,
            "choices": choices,
        }
        if self._usage is not None:
            output["usage"] = dump(self._usage)
        return output


_CONTENT_EVENTS = frozenset({"response.output_text.delta", "response.function_call_arguments.delta",
                             "response.refusal.delta"})
_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class ResponseEventsAccumulator:
    """Responses API stream events; the final ``response.completed`` event carries the whole answer."""

    def __init__(self) -> None:
        self._response: Any = None
        self._final = False
        self._text: list[str] = []

    def add(self, item: Any) -> bool:
        """Fold one event into the answer."""
        kind = getattr(item, "type", None)
        if kind in _CONTENT_EVENTS:
            if kind == "response.output_text.delta":
                self._text.append(getattr(item, "delta", "") or "")
            return True
        response = getattr(item, "response", None)
        if response is not None and not self._final:
            self._response = response
            self._final = kind in _FINAL_EVENTS
        return False

    def attributes(self) -> dict[str, Any]:
        """Attributes of the last response snapshot seen (the final one when the stream completed)."""
        return response_attributes(self._response) if self._response is not None else {}

    def output(self) -> Any:
        """The final response; for a stream cut short, the snapshot plus the text streamed so far."""
        if self._final:
            return dump(self._response)
        partial = dump(self._response) if self._response is not None else {}
        if not isinstance(partial, dict):
            partial = {}
        return {**partial, "output_text": "".join(self._text)}


def new_accumulator(kind: ResultKind) -> StreamAccumulator:
    """A fresh accumulator for a stream of a call of ``kind``."""
    if kind is ResultKind.RESPONSE:
        return ResponseEventsAccumulator()
    return ChatAccumulator(legacy_completion=kind is ResultKind.COMPLETION)
