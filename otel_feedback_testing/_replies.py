"""What the local model answers: the request it sees, the reply it gives, and the default rules.

A *responder* is any callable ``responder(request: ModelRequest) -> str | Reply``. The server
calls it once per chat, completion or responses request and turns its answer into the right
wire format (JSON or a stream of chunks), so a responder never deals with HTTP or formats.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

__all__ = [
    "ModelRequest",
    "Reply",
    "Responder",
    "Rule",
    "RuleBasedResponder",
    "ToolCall",
    "count_tokens",
    "echo_responder",
]


def count_tokens(text: str) -> int:
    """A stand-in token count: the number of whitespace-separated words in ``text``."""
    return len(text.split())


def _content_text(content: Any) -> str:
    """The text of a message's content, whether a plain string or a list of typed parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        texts: list[str] = []
        for part in content:
            if isinstance(part, Mapping):
                text = part.get("text")
                if isinstance(text, str):
                    texts.append(text)
            elif isinstance(part, str):
                texts.append(part)
        return " ".join(texts)
    return str(content)


@dataclass(frozen=True)
class ModelRequest:
    """One request to the local model, normalized across endpoints.

    ``endpoint`` is ``"chat.completions"``, ``"completions"`` or ``"responses"``; ``messages``
    are ``{"role": ..., "content": <text>}`` dicts in order (a completion prompt is one user
    message, Responses ``instructions`` a system message); ``body`` is the parsed JSON request.
    """

    endpoint: str
    model: str
    messages: tuple[dict[str, str], ...]
    body: Mapping[str, Any] = field(default_factory=dict)

    @property
    def last_user_message(self) -> str:
        """The text of the last user message, or ``""`` when there is none."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return message.get("content", "")
        return ""

    @property
    def system_prompt(self) -> str:
        """The text of the system (or developer) messages, joined by newlines."""
        return "\n".join(m.get("content", "") for m in self.messages if m.get("role") in ("system", "developer"))

    @property
    def tool_names(self) -> tuple[str, ...]:
        """Names of the function tools the request offers (chat and Responses layouts)."""
        names: list[str] = []
        for tool in self.body.get("tools") or ():
            if not isinstance(tool, Mapping):
                continue
            function = tool.get("function")
            name = function.get("name") if isinstance(function, Mapping) else tool.get("name")
            if isinstance(name, str):
                names.append(name)
        return tuple(names)

    @property
    def prompt_text(self) -> str:
        """Every message's text joined by newlines: what the usage counts as input tokens."""
        return "\n".join(message.get("content", "") for message in self.messages)

    @classmethod
    def from_body(cls, endpoint: str, body: Mapping[str, Any]) -> ModelRequest:
        """Build the normalized view of a parsed JSON request ``body`` for ``endpoint``."""
        messages: list[dict[str, str]] = []
        if endpoint == "chat.completions":
            for message in body.get("messages") or ():
                if isinstance(message, Mapping):
                    messages.append(
                        {"role": str(message.get("role", "user")), "content": _content_text(message.get("content"))}
                    )
        elif endpoint == "completions":
            prompt = body.get("prompt", "")
            if isinstance(prompt, list):
                prompt = " ".join(str(item) for item in prompt)
            messages.append({"role": "user", "content": str(prompt)})
        elif endpoint == "responses":
            instructions = body.get("instructions")
            if isinstance(instructions, str) and instructions:
                messages.append({"role": "system", "content": instructions})
            items = body.get("input", "")
            if isinstance(items, str):
                messages.append({"role": "user", "content": items})
            else:
                for item in items or ():
                    if isinstance(item, Mapping) and "role" in item:
                        messages.append({"role": str(item["role"]), "content": _content_text(item.get("content"))})
                    elif isinstance(item, Mapping) and item.get("type") == "function_call_output":
                        messages.append({"role": "tool", "content": _content_text(item.get("output"))})
        return cls(endpoint=endpoint, model=str(body.get("model", "")), messages=tuple(messages), body=body)


@dataclass(frozen=True)
class ToolCall:
    """A function call the model asks for; ``arguments`` is a dict (sent as JSON) or JSON text."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        """The arguments as the JSON text the API sends."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), ensure_ascii=False)


@dataclass(frozen=True)
class Reply:
    """A structured answer: text, tool calls, or both; ``finish_reason`` is derived when None."""

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None

    @property
    def resolved_finish_reason(self) -> str:
        """``finish_reason`` as given, else ``"tool_calls"`` when calling tools, else ``"stop"``."""
        if self.finish_reason:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


Responder = Callable[[ModelRequest], Union[str, Reply]]
"""A callable the server asks for each answer: ``responder(request) -> str | Reply``."""


def echo_responder(request: ModelRequest) -> str:
    """The fallback answer: repeats the last user message back."""
    return f"You said: {request.last_user_message}"


RuleAnswer = Union[str, Reply, Callable[[ModelRequest, "re.Match[str]"], Union[str, Reply]]]


@dataclass(frozen=True)
class Rule:
    """When ``pattern`` matches the last user message (case-insensitive search), answer ``answer``.

    ``answer`` is text, a ``Reply``, or ``answer(request, match) -> str | Reply``.
    """

    pattern: str | re.Pattern[str]
    answer: RuleAnswer
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = self.pattern if isinstance(self.pattern, re.Pattern) else re.compile(self.pattern, re.IGNORECASE)
        object.__setattr__(self, "_regex", regex)

    def match(self, request: ModelRequest) -> str | Reply | None:
        """The answer for ``request`` when this rule applies, else None."""
        found = self._regex.search(request.last_user_message)
        if found is None:
            return None
        if callable(self.answer):
            return self.answer(request, found)
        return self.answer


def _call_named_tool(request: ModelRequest, match: re.Match[str]) -> str | Reply:
    """Ask for the named tool when the request offers it; explain otherwise."""
    name = match.group(1)
    if name not in request.tool_names:
        return f"I have no tool named {name}."
    arguments: Mapping[str, Any] | str = {}
    raw = (match.group(2) or "").strip()
    if raw:
        arguments = raw
    return Reply(tool_calls=(ToolCall(name=name, arguments=arguments),))


DEFAULT_RULES: tuple[Rule, ...] = (
    # "call get_weather {"city": "Paris"}" -> a tool call, when the request offers that tool.
    Rule(r"\bcall\s+([A-Za-z_][\w.-]*)\s*(\{.*\})?", _call_named_tool),
    Rule(r"^\s*(hello|hi|hey)\b", "Hello! How can I help you today?"),
    Rule(r"\bwhat is mlflow\b", "MLflow is an open source platform for managing the machine learning lifecycle."),
    Rule(r"\bopentelemetry\b", "OpenTelemetry is an open standard for traces, metrics and logs."),
)


class RuleBasedResponder:
    """Answers by the first matching ``Rule``; ``fallback`` (echo by default) answers the rest.

    The default rules answer greetings, a couple of canned questions, and turn
    ``call <tool> {json arguments}`` into a tool call when the request offers that tool.
    Pass ``rules=`` to replace them, or ``extra_rules=`` to try yours first.
    """

    def __init__(
        self,
        *,
        rules: Sequence[Rule] | None = None,
        extra_rules: Sequence[Rule] = (),
        fallback: Responder = echo_responder,
    ) -> None:
        self.rules: tuple[Rule, ...] = (*extra_rules, *(DEFAULT_RULES if rules is None else rules))
        self.fallback = fallback

    def __call__(self, request: ModelRequest) -> str | Reply:
        """The first matching rule's answer, else the fallback's."""
        for rule in self.rules:
            answer = rule.match(request)
            if answer is not None:
                return answer
        return self.fallback(request)
