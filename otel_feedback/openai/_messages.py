"""Messages, tools and parameters of an OpenAI call in both conventions other tools read.

OTel GenAI: ``gen_ai.input.messages`` / ``gen_ai.output.messages`` / ``gen_ai.system_instructions``
/ ``gen_ai.tool.definitions`` as JSON text (role + typed ``parts``). OpenInference: the flattened
``llm.input_messages.N.message.*`` / ``llm.output_messages.N.message.*`` (tool calls too) and
``llm.tools.N.tool.*``. Every one of them carries content, so the caller asks for them only when
content capture is on. ``llm.invocation_parameters`` (the sampling parameters, no content) is
always recorded.

Requests are the keyword arguments as given; outputs are JSON-ready dicts in the shape the server
sent (the non-streamed result dumped, or the stream's assembled answer in the same shape).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from otel_feedback.openai import _semconv as sc
from otel_feedback.openai._operations import ResultKind
from otel_feedback.openai._request import _TRANSPORT_KEYS, _given

# The OTel SDK keeps 128 attributes per span by default and, past that, evicts the *oldest* ones
# (the operation name, the span kind...). The flattened OpenInference messages are capped so a
# long conversation cannot push them out; the GenAI JSON attributes keep every message.
MAX_FLAT_INPUT_ATTRIBUTES = 48
MAX_FLAT_OUTPUT_ATTRIBUTES = 24
MAX_FLAT_TOOLS = 8

# Arguments that are content or the model, not invocation parameters.
_NOT_PARAMETERS = frozenset({"model", "messages", "input", "instructions", "prompt", "tools", "functions"}) | _TRANSPORT_KEYS


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _text_of(content: Any) -> str | None:
    """The text of a message's content: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [part.get("text") for part in content if isinstance(part, Mapping) and isinstance(part.get("text"), str)]
        return "".join(texts) if texts else None
    return None


def _arguments(raw: Any) -> Any:
    """Tool-call arguments as an object when they are JSON text (GenAI wants the object)."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def invocation_parameters(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``llm.invocation_parameters``: the given arguments that are neither content nor transport."""
    parameters = {key: value for key, value in kwargs.items() if key not in _NOT_PARAMETERS and _given(value)}
    if not parameters:
        return {}
    return {sc.LLM_INVOCATION_PARAMETERS: _json({key: value.__name__ if isinstance(value, type) else value
                                                 for key, value in parameters.items()})}


# -- messages in, both conventions ------------------------------------------------------------------
class _Messages:
    """Collects messages once and writes them in both conventions."""

    def __init__(self, genai_key: str, openinference_prefix: str, flat_budget: int) -> None:
        self.genai_key = genai_key
        self.prefix = openinference_prefix
        self.genai: list[dict[str, Any]] = []
        self._flat: list[dict[str, Any]] = []  # per message, keys relative to "<prefix>.N.message."
        self._budget = flat_budget
        self._count = 0

    def add(self, role: str, text: str | None, tool_calls: Sequence[Mapping[str, Any]] = (),
            *, tool_call_id: str | None = None, finish_reason: str | None = None,
            genai: bool = True) -> None:
        """One message: its role, text and tool calls (each ``{"id", "name", "arguments"}`` text)."""
        self._count += 1
        flat: dict[str, Any] = {"role": role}
        if text is not None:
            flat["content"] = text
        if tool_call_id is not None:
            flat["tool_call_id"] = tool_call_id
        for index, call in enumerate(tool_calls):
            call_base = f"tool_calls.{index}.tool_call."
            if call.get("id"):
                flat[call_base + "id"] = call["id"]
            if call.get("name"):
                flat[call_base + "function.name"] = call["name"]
            if call.get("arguments") is not None:
                flat[call_base + "function.arguments"] = call["arguments"]
        self._flat.append(flat)
        if not genai:
            return
        parts: list[dict[str, Any]] = []
        if tool_call_id is not None:
            parts.append({"type": "tool_call_response", "id": tool_call_id, "response": text})
        elif text is not None:
            parts.append({"type": "text", "content": text})
        parts.extend({"type": "tool_call", "id": call.get("id"), "name": call.get("name"),
                      "arguments": _arguments(call.get("arguments"))} for call in tool_calls)
        message: dict[str, Any] = {"role": role, "parts": parts}
        if finish_reason is not None:
            message["finish_reason"] = finish_reason
        self.genai.append(message)

    def attributes(self) -> dict[str, Any]:
        """Both conventions' attributes; nothing when no message was added."""
        if self._count == 0:
            return {}
        # The most recent messages that fit the budget, numbered from 0.
        kept: list[dict[str, Any]] = []
        used = 0
        for flat in reversed(self._flat):
            if used + len(flat) > self._budget:
                break
            kept.append(flat)
            used += len(flat)
        out: dict[str, Any] = {}
        for index, flat in enumerate(reversed(kept)):
            base = f"{self.prefix}.{index}.message."
            out.update({base + key: value for key, value in flat.items()})
        if self.genai:
            out[self.genai_key] = _json(self.genai)
        return out


def _chat_tool_calls(calls: Any) -> list[dict[str, Any]]:
    out = []
    for call in calls or ():
        if not isinstance(call, Mapping):
            continue
        function = call.get("function") or {}
        out.append({"id": call.get("id"), "name": function.get("name"), "arguments": function.get("arguments")})
    return out


def _chat_input(kwargs: Mapping[str, Any], messages: _Messages, system: list[dict[str, Any]]) -> None:
    for message in kwargs.get("messages") or ():
        if not isinstance(message, Mapping):
            continue
        role = str(message.get("role") or "user")
        text = _text_of(message.get("content"))
        if role in ("system", "developer"):
            # GenAI keeps system instructions apart; OpenInference lists them as messages.
            if text is not None:
                system.append({"type": "text", "content": text})
            messages.add(role, text, genai=False)
            continue
        messages.add(role, text, _chat_tool_calls(message.get("tool_calls")),
                     tool_call_id=message.get("tool_call_id") if role == "tool" else None)


def _responses_input(kwargs: Mapping[str, Any], messages: _Messages, system: list[dict[str, Any]]) -> None:
    instructions = kwargs.get("instructions")
    if isinstance(instructions, str) and instructions:
        system.append({"type": "text", "content": instructions})
        messages.add("system", instructions, genai=False)
    given = kwargs.get("input")
    if isinstance(given, str):
        messages.add("user", given)
        return
    for item in given or ():
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        if kind == "function_call":
            messages.add("assistant", None, [{"id": item.get("call_id"), "name": item.get("name"),
                                              "arguments": item.get("arguments")}])
        elif kind == "function_call_output":
            output = item.get("output")
            messages.add("tool", output if isinstance(output, str) else _json(output), tool_call_id=item.get("call_id"))
        elif "role" in item:
            role = str(item.get("role"))
            text = _text_of(item.get("content"))
            if role in ("system", "developer"):
                if text is not None:
                    system.append({"type": "text", "content": text})
                messages.add(role, text, genai=False)
            else:
                messages.add(role, text)


def _tool_attributes(tools: Any) -> dict[str, Any]:
    """``gen_ai.tool.definitions`` and ``llm.tools.N.tool.*`` from the ``tools`` argument."""
    if not isinstance(tools, (list, tuple)) or not tools:
        return {}
    attributes: dict[str, Any] = {}
    definitions = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, Mapping):
            continue
        flatten = index < MAX_FLAT_TOOLS
        function = tool.get("function") if isinstance(tool.get("function"), Mapping) else tool  # chat nests it
        name = function.get("name")
        definition = {"type": tool.get("type", "function"), "name": name}
        if function.get("description") is not None:
            definition["description"] = function.get("description")
        if function.get("parameters") is not None:
            definition["parameters"] = function.get("parameters")
        definitions.append(definition)
        if not flatten:
            continue
        attributes[f"{sc.LLM_TOOLS}.{index}.tool.json_schema"] = _json(tool)
        if isinstance(name, str):
            attributes[f"{sc.LLM_TOOLS}.{index}.tool.name"] = name
        if isinstance(function.get("description"), str):
            attributes[f"{sc.LLM_TOOLS}.{index}.tool.description"] = function["description"]
    if definitions:
        attributes[sc.TOOL_DEFINITIONS] = _json(definitions)
    return attributes


def input_content_attributes(kind: ResultKind, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The request's messages, system instructions and tools (content: only when capture is on)."""
    if kind is ResultKind.EMBEDDING:
        given = kwargs.get("input")
        texts = [given] if isinstance(given, str) else [t for t in given or () if isinstance(t, str)] \
            if isinstance(given, (list, tuple)) else []
        return {f"{sc.EMBEDDING_EMBEDDINGS}.{index}.embedding.text": text
                for index, text in enumerate(texts[:MAX_FLAT_INPUT_ATTRIBUTES])}
    messages = _Messages(sc.INPUT_MESSAGES, sc.LLM_INPUT_MESSAGES, MAX_FLAT_INPUT_ATTRIBUTES)
    system: list[dict[str, Any]] = []
    if kind is ResultKind.CHAT:
        _chat_input(kwargs, messages, system)
    elif kind is ResultKind.RESPONSE:
        _responses_input(kwargs, messages, system)
    elif isinstance(kwargs.get("prompt"), str):
        messages.add("user", kwargs["prompt"])
    attributes = messages.attributes()
    if system:
        attributes[sc.SYSTEM_INSTRUCTIONS] = _json(system)
    attributes.update(_tool_attributes(kwargs.get("tools")))
    return attributes


# -- messages out ------------------------------------------------------------------------------------
def _chat_output(output: Mapping[str, Any], messages: _Messages, legacy: bool) -> None:
    for choice in output.get("choices") or ():
        if not isinstance(choice, Mapping):
            continue
        finish = choice.get("finish_reason")
        finish = str(finish) if finish else None
        if legacy:
            messages.add("assistant", choice.get("text"), finish_reason=finish)
            continue
        message = choice.get("message") or {}
        messages.add(str(message.get("role") or "assistant"), _text_of(message.get("content")),
                     _chat_tool_calls(message.get("tool_calls")), finish_reason=finish)


def _responses_output(output: Mapping[str, Any], messages: _Messages) -> None:
    items = output.get("output") or ()
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        if item.get("type") == "message":
            text = _text_of(item.get("content"))
            if text:
                texts.append(text)
        elif item.get("type") == "function_call":
            calls.append({"id": item.get("call_id"), "name": item.get("name"), "arguments": item.get("arguments")})
    if not texts and not calls and isinstance(output.get("output_text"), str):
        texts.append(output["output_text"])  # a stream cut short: the text read so far
    if texts or calls:
        status = output.get("status")
        finish = "tool_calls" if calls else ("stop" if status == "completed" else None)
        messages.add("assistant", "".join(texts) if texts else None, calls, finish_reason=finish)


def output_content_attributes(kind: ResultKind, output: Any) -> dict[str, Any]:
    """The answer's messages in both conventions (content: only when capture is on)."""
    if kind is ResultKind.EMBEDDING or not isinstance(output, Mapping):
        return {}
    messages = _Messages(sc.OUTPUT_MESSAGES, sc.LLM_OUTPUT_MESSAGES, MAX_FLAT_OUTPUT_ATTRIBUTES)
    if kind is ResultKind.RESPONSE:
        _responses_output(output, messages)
    else:
        _chat_output(output, messages, legacy=kind is ResultKind.COMPLETION)
    return messages.attributes()
