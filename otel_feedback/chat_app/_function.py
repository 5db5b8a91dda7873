"""The app's function: found by ``MODULE:FUNCTION``, called with what a chat request holds."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

Message = dict[str, Any]


class ChatFunction:
    """A function that answers a chat: ``fn(question)`` or ``fn(messages=[...])``."""

    def __init__(self, function: Callable[..., Any], *, name: str | None = None) -> None:
        if not callable(function):
            raise TypeError(f"the chat app needs a callable; got {type(function).__name__}")
        self.function = function
        self.name = name or getattr(function, "__name__", None) or "chat-app"
        self.takes_messages = _has_parameter(function, "messages")

    def check(self, messages: Sequence[Message]) -> None:
        """ValueError when the function cannot be called with these messages (no user message)."""
        if not self.takes_messages:
            last_user_message(messages)

    def answer(self, messages: Sequence[Message]) -> str | Iterator[str]:
        """Call the function; a string, or an iterator of strings when it streams."""
        if self.takes_messages:
            result = self.function(messages=list(messages))
        else:
            result = self.function(last_user_message(messages))
        if result is None:
            return ""
        if isinstance(result, str):
            return result
        if isinstance(result, Iterator):
            return (piece if isinstance(piece, str) else _as_text(piece) for piece in result)
        return _as_text(result)


def load_function(spec: str) -> ChatFunction:
    """``MODULE:FUNCTION`` imported (the current directory first on the path, as ``python -m`` does)."""
    module_name, separator, attribute = spec.partition(":")
    if not separator or not module_name or not attribute:
        raise ValueError(f"Name the function as MODULE:FUNCTION, e.g. myapp:my_chatbot; got {spec!r}.")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name.split(".")[0] and exc.name != module_name:
            raise
        raise ValueError(f"No module named {module_name!r}; run from the folder that holds it, or install it.") from None
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f"The module {module_name!r} has no {attribute!r}; name a function defined in it.")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"{spec} is a {type(target).__name__}, not a function.")
    return ChatFunction(target, name=attribute)


def last_user_message(messages: Sequence[Message]) -> str:
    """The text of the last message whose role is ``user``."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    raise ValueError("The request has no message with the role 'user'; send at least one.")


def message_text(message: Message) -> str:
    """A message's content as text (the text parts of a multi-part content joined)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def _has_parameter(function: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(function).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False


def _as_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
