"""Seeded random OTLP ``ExportTraceServiceRequest``s for the differential tests of the span rows
(tests/collector/storage/test_native_rows.py): realistic GenAI spans of every convention with
a minority of odd ones, so that every branch of ``normalize.py``, ``otlp_values.py`` and
``span_rows.py`` is met.

``random_request(rng, odd=p)`` makes each span (and each resource) odd with probability ``p``;
``odd=0.0`` gives only the shapes the native fast path must take itself: string, int, bool and
double values, flat arrays of them and maps (without repeated keys), the keys of OpenInference,
ours, OTel GenAI and OpenLLMetry (without its indexed prompts), span kinds 0..5, status codes
0..2, times within int64, span events (not assessment events) and links. ``ODD_SHAPES`` makes
one odd shape at a time, each of which must send a request to the Python path.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span
from otlp_builders import any_value

INT64_MAX = 2**63 - 1
_NOW_NS = 1_764_547_200_000_000_000  # 2025-12-01, a fixed base so requests are reproducible

# Texts with everything a JSON encoder escapes or keeps: quotes, backslashes, control
# characters, DEL, non-ASCII, emoji, the JavaScript line separators, and long texts whose
# 200th code point (the preview's cut) is a multi-byte one.
TEXTS = [
    "",
    "hello",
    "What is the capital of France?",
    'say "hi"',
    "back\\slash \\u0041 \\\\",
    "ctrl \x00\x01\x08\x0b\x0c\x1f end",
    "tab\tnew\nline\rret",
    "del\x7f",
    "naïve café",
    "日本語のテキスト",
    "emoji 😀👍🏽 \U0010ffff",
    "line\u2028sep\u2029para",
    "\ufeffbom \u00a0nbsp \u200bzw",
    "</script><b>bold</b>&amp;",
    '{"role": "user", "content": "hi"}',
    '[{"role":"assistant","content":"é"}]',
    "é" * 199 + "😀" + "tail" * 10,
    "x" * 200,
    "Ω" * 201,
    "The answer is 42. " * 90,  # ~1.6 KB, like the GenAI spans of the benchmark
]
INTS = [0, 1, -1, 7, 42, 1000, 2**31, -(2**31) - 1, 2**53 + 1, -(2**63), INT64_MAX]
DOUBLES = [
    0.1, 1e-7, 1e16, 1e22, -0.0, 0.0, 5e-324, 1.7976931348623157e308, 3.0, -2.5, 123456.789,
    1e15, 9.999999999999999e15, 0.0001, 0.00001, 2.0**63, 1.5, 2.2250738585072014e-308,
    float("nan"), float("inf"), float("-inf"),
]
BOOLS = [True, False]
SPAN_TYPES = ["LLM", "llm", "Chain", "CHAIN", "retriever", "TOOL", "agent", "EMBEDDING", "reranker", ""]
NON_ASCII_TYPES = ["tas\u212a", "ß", "llm\u0130", "ﬁle", "ǅ"]
GENAI_OPERATIONS = ["chat", "CHAT", "text_completion", "generate_content", "embeddings",
                    "execute_tool", "invoke_agent", "create_agent", "other", ""]
TRACELOOP_KINDS = ["workflow", "task", "TASK", "agent", "tool", "Tool", "unknown", ""]
REQUEST_TYPES = ["chat", "completion", "embedding", "rerank", "Rerank", "unknown", ""]
MODELS = ["gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet", "text-embedding-3-small", "", "mödel"]

# Keys each fast-path convention reads, by the kind of value they get.
_TYPE_KEYS = ["otel_feedback.span_type", "openinference.span.kind"]
_TEXT_KEYS = [
    "input.value", "output.value", "session.id", "user.id", "otel_feedback.experiment",
    "traceloop.entity.input", "traceloop.entity.output",
    "traceloop.association.properties.session_id", "traceloop.association.properties.user_id",
    "gen_ai.input.messages", "gen_ai.tool.call.arguments", "gen_ai.prompt",
    "gen_ai.output.messages", "gen_ai.tool.call.result", "gen_ai.completion",
    "gen_ai.conversation.id", "enduser.id",
]
_MODEL_KEYS = [
    "llm.model_name", "embedding.model_name", "gen_ai.response.model", "gen_ai.request.model",
    "llm.response.model", "llm.request.model",
]
_TOKEN_KEYS = [
    "llm.token_count.prompt", "llm.token_count.completion", "llm.token_count.total",
    "gen_ai.usage.prompt_tokens", "llm.usage.prompt_tokens", "gen_ai.usage.completion_tokens",
    "llm.usage.completion_tokens", "llm.usage.total_tokens", "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
]
_OTHER_KEYS = [
    "http.method", "input.mime_type", "output.mime_type", "gen_ai.system", "metadata",
    "tag.tags", "retrieval.documents.0.document.content", "retrieval.documents.0.document.score",
    "llm.invocation_parameters", "ключ", 'key "quoted" \\ ', "", "k\x00\x1f", "😀",
    "gen_ai.prompt.x", "mlflow", "langfuse", "otel_feedback.original.start_time_unix_nano",
]
# Keys only the Python path handles (MLflow, Langfuse, OpenLLMetry's indexed messages).
MLFLOW_KEYS = ["mlflow.spanType", "mlflow.spanInputs", "mlflow.spanOutputs", "mlflow.llm.model",
               "mlflow.chat.tokenUsage"]
LANGFUSE_KEYS = [
    "langfuse.observation.type", "langfuse.observation.input", "langfuse.observation.output",
    "langfuse.trace.input", "langfuse.trace.output", "langfuse.observation.model.name",
    "langfuse.observation.usage_details", "langfuse.session.id", "langfuse.user.id",
]
INDEXED_KEYS = ["gen_ai.prompt.0.content", "gen_ai.prompt.0.role", "gen_ai.prompt.1.content",
                "gen_ai.prompt.1.role", "gen_ai.completion.0.content", "gen_ai.completion.0.role",
                "gen_ai.completion.1.content"]


# --- AnyValues -------------------------------------------------------------------------------

def scalar(value: Any) -> AnyValue:
    """A value as an AnyValue (bytes as bytes_value)."""
    return AnyValue(bytes_value=value) if isinstance(value, bytes) else any_value(value)


def array_of(values: list[AnyValue]) -> AnyValue:
    """An array AnyValue of ``values`` (an empty one is still an array)."""
    result = AnyValue()
    result.array_value.SetInParent()  # an empty array is an array, not an empty AnyValue
    result.array_value.values.extend(values)
    return result


def fast_scalar(rng: random.Random) -> AnyValue:
    """A string, int, bool or double value."""
    pool = rng.choice([TEXTS, TEXTS, INTS, DOUBLES, BOOLS])
    return scalar(rng.choice(pool))


def fast_value(rng: random.Random) -> AnyValue:
    """A fast-path value: a scalar, or now and then a flat array of scalars (maybe empty)."""
    if rng.random() < 0.15:
        return array_of([fast_scalar(rng) for _ in range(rng.randint(0, 4))])
    return fast_scalar(rng)


def fast_map(rng: random.Random, depth: int = 0) -> AnyValue:
    """A map (kvlist) value without repeated keys, its values scalars, arrays or maps."""
    result = AnyValue()
    result.kvlist_value.SetInParent()  # an empty map is a map, not an empty AnyValue
    for key in rng.sample(["a", "b", "role", "content", "", "é \"k\"", "n"], rng.randint(0, 4)):
        value = fast_map(rng, depth + 1) if depth < 2 and rng.random() < 0.2 else fast_value(rng)
        result.kvlist_value.values.add(key=key, value=value)
    return result


def odd_value(rng: random.Random, depth: int = 0) -> AnyValue:
    """A value of a kind only the Python path handles: bytes, an empty AnyValue, a kvlist, or
    an array holding one of those or another array."""
    choice = rng.randrange(6 if depth < 3 else 2)
    if choice == 0:
        return scalar(rng.choice([b"", b"\x00\xff", bytes(range(256)), b"plain"]))
    if choice == 1:
        return AnyValue()
    if choice in (2, 3):
        result = AnyValue()
        result.kvlist_value.SetInParent()
        for _ in range(rng.randint(0, 3)):
            value = odd_value(rng, depth + 1) if rng.random() < 0.3 else fast_value(rng)
            result.kvlist_value.values.add(key=rng.choice(_OTHER_KEYS + _TEXT_KEYS), value=value)
        return result
    return array_of([odd_value(rng, depth + 1) if rng.random() < 0.5 else fast_value(rng)
                   for _ in range(rng.randint(1, 3))])


# --- Attributes ------------------------------------------------------------------------------

_CASED_KEYS = {*_TYPE_KEYS, "gen_ai.operation.name", "traceloop.span.kind", "llm.request.type"}


def _value_for(rng: random.Random, key: str) -> AnyValue:
    """A fast-path value that suits the key most of the time (and any value otherwise). The
    keys whose value is upper- or lower-cased get ASCII strings, ints and bools only; token
    counts never get strings."""
    if rng.random() < 0.2:
        if rng.random() < 0.1 and key not in _CASED_KEYS and key not in _TOKEN_KEYS:
            return fast_map(rng)
        if key in _CASED_KEYS:
            return scalar(rng.choice([*(t for t in TEXTS if t.isascii()), *INTS, *BOOLS]))
        if key in _TOKEN_KEYS:
            return rng.choice([scalar(rng.choice([*INTS, *DOUBLES, *BOOLS])),
                               array_of([fast_scalar(rng)])])
        return fast_value(rng)
    if key in _TYPE_KEYS:
        return scalar(rng.choice(SPAN_TYPES))
    if key in _TOKEN_KEYS:
        return scalar(rng.choice([
            rng.randint(0, 5000), rng.randint(0, 5000), 0, -3, INT64_MAX, 2**62, True, False,
            12.0, 7.9, -0.5, 0.5, float(2**63), 9.2e18, float("nan"), float("inf"), 1e300,
        ]))
    if key in _MODEL_KEYS:
        return scalar(rng.choice(MODELS))
    if key == "gen_ai.operation.name":
        return scalar(rng.choice(GENAI_OPERATIONS))
    if key == "traceloop.span.kind":
        return scalar(rng.choice(TRACELOOP_KINDS))
    if key == "llm.request.type":
        return scalar(rng.choice(REQUEST_TYPES))
    return scalar(rng.choice(TEXTS))


# Realistic spans: which keys each kind of instrumentation sets.
_TEMPLATES: list[list[str]] = [
    ["openinference.span.kind", "input.value", "output.value", "session.id", "user.id"],
    ["openinference.span.kind", "input.value", "input.mime_type", "retrieval.documents.0.document.content"],
    ["openinference.span.kind", "llm.model_name", "llm.token_count.prompt", "llm.token_count.completion",
     "llm.token_count.total", "input.value", "output.value", "gen_ai.operation.name",
     "gen_ai.request.model", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"],
    ["gen_ai.operation.name", "gen_ai.system", "gen_ai.request.model", "gen_ai.response.model",
     "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.input.messages",
     "gen_ai.output.messages", "gen_ai.conversation.id"],
    ["gen_ai.operation.name", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result"],
    ["traceloop.span.kind", "traceloop.entity.input", "traceloop.entity.output",
     "traceloop.association.properties.session_id", "traceloop.association.properties.user_id"],
    ["llm.request.type", "llm.request.model", "llm.response.model", "gen_ai.usage.prompt_tokens",
     "gen_ai.usage.completion_tokens", "llm.usage.total_tokens", "gen_ai.prompt", "gen_ai.completion"],
    ["llm.request.type", "llm.usage.prompt_tokens", "llm.usage.completion_tokens", "gen_ai.system"],
    ["otel_feedback.span_type", "otel_feedback.experiment", "input.value", "output.value"],
    ["http.method", "tag.tags"],
    [],
]
_FAST_KEYS = sorted({key for template in _TEMPLATES for key in template}
                    | set(_TYPE_KEYS + _TEXT_KEYS + _MODEL_KEYS + _TOKEN_KEYS + _OTHER_KEYS)
                    | {"gen_ai.operation.name", "traceloop.span.kind", "llm.request.type"})


def fast_attributes(rng: random.Random) -> list[tuple[str, AnyValue]]:
    """A realistic key set (often several conventions mixed), without repeated keys."""
    keys = list(rng.choice(_TEMPLATES))
    if rng.random() < 0.5:
        keys += rng.choice(_TEMPLATES)
    if rng.random() < 0.4:
        keys += rng.sample(_FAST_KEYS, rng.randint(1, 8))
    keys = list(dict.fromkeys(keys))
    rng.shuffle(keys)
    return [(key, _value_for(rng, key)) for key in keys]


def _set_attributes(target: Any, attributes: list[tuple[str, AnyValue]]) -> None:
    for key, value in attributes:
        target.add(key=key, value=value)


# --- Spans -----------------------------------------------------------------------------------

def _random_id(rng: random.Random, size: int) -> bytes:
    if rng.random() < 0.03:  # leading zero bytes: still a valid id
        return bytes(size - 1) + bytes([rng.randint(1, 255)])
    return rng.randbytes(size)


def fast_span(rng: random.Random, trace_id: bytes, parent: bytes) -> Span:
    """A span of the fast path's shapes."""
    start = _NOW_NS + rng.randint(0, 10**12)
    end = start + rng.choice([0, 1, 999, 1_000_000, rng.randint(0, 10**10)])
    if rng.random() < 0.03:
        end = start - rng.randint(1, 10**6)  # clock skew: no duration
    if rng.random() < 0.02:
        start, end = rng.choice([(0, 0), (0, end), (INT64_MAX, INT64_MAX), (start, INT64_MAX)])
    span = Span(
        trace_id=trace_id,
        span_id=_random_id(rng, 8),
        parent_span_id=parent,
        name=rng.choice(["chat gpt-4o-mini", "retrieve", "agent", "", "tool call 😀", 'a"b\\c']),
        kind=rng.choice([1, 1, 1, 3, 0, 2, 4, 5]),
        start_time_unix_nano=start,
        end_time_unix_nano=end,
    )
    if rng.random() < 0.5:
        span.flags = rng.choice([0x100, 0x301, 1])
    if rng.random() < 0.1:
        span.trace_state = rng.choice(["", "vendor=value", "a=1,b=2"])
    if rng.random() < 0.05:
        span.dropped_attributes_count = rng.randint(1, 5)
    status = rng.random()
    if status < 0.3:
        span.status.code = rng.choice([0, 1, 2])
    if status < 0.1:
        span.status.message = rng.choice(["", "boom", "Ошибка: \"quoted\"\n"])
    _set_attributes(span.attributes, fast_attributes(rng))
    for _ in range(rng.choice([0, 0, 0, 0, 0, 1, 1, 2])):
        _add_event(rng, span)
    for _ in range(rng.choice([0] * 12 + [1, 2])):
        _add_link(rng, span)
    return span


def _add_event(rng: random.Random, span: Span) -> None:
    # Event times are written as sent (never clamped): any uint64.
    event = span.events.add(name=rng.choice(["exception", "log", "", "gen_ai.choice", "é"]),
                            time_unix_nano=rng.choice([0, span.start_time_unix_nano + 5, INT64_MAX + 1, 2**64 - 1]))
    attributes = rng.choice([[], [("exception.message", fast_value(rng)), ("exception.type", scalar("ValueError"))],
                             [("payload", fast_map(rng)), ("n", fast_scalar(rng))]])
    _set_attributes(event.attributes, attributes)
    if rng.random() < 0.1:
        event.dropped_attributes_count = 2


def _add_link(rng: random.Random, span: Span) -> None:
    link = span.links.add(trace_id=rng.choice([span.trace_id, b"", bytes(16), _random_id(rng, 16)]),
                          span_id=rng.choice([_random_id(rng, 8), b"", bytes(8)]),
                          trace_state=rng.choice(["", "k=v", "é"]))
    if rng.random() < 0.5:
        link.flags = 0x100
    if rng.random() < 0.1:
        link.dropped_attributes_count = 1
    if rng.random() < 0.7:
        _set_attributes(link.attributes, [("link.kind", fast_value(rng)), ("m", fast_map(rng))][: rng.randint(1, 2)])


def _without(span: Span, keys: Any) -> None:
    kept = [kv for kv in span.attributes if kv.key not in keys]
    del span.attributes[:]
    span.attributes.extend(kept)


def _odd_span_type(rng: random.Random, span: Span) -> None:
    # The span's only type key, so its (upper- or lower-cased) value is read.
    _without(span, _CASED_KEYS)
    span.attributes.add(key=rng.choice(sorted(_CASED_KEYS)),
                        value=scalar(rng.choice(NON_ASCII_TYPES + ["invo\u212ae_agent", "rera\u212ak"])))


def _odd_token_string(rng: random.Random, span: Span) -> None:
    # The span's only token count, so it is read.
    _without(span, _TOKEN_KEYS)
    span.attributes.add(key=rng.choice(_TOKEN_KEYS), value=scalar(rng.choice(
        ["12", "12.0", " 7 ", "1_000", "-3", "1e3", "nan", "inf", "abc", "", "١٢", "9" * 30])))


def _odd_unread_value(rng: random.Random, span: Span) -> None:
    # A non-ASCII type or a text token count where a value read before it has won: Python
    # never looks at it.
    span.attributes.add(key="otel_feedback.span_type", value=scalar("LLM"))
    span.attributes.add(key="llm.token_count.prompt", value=scalar(3))
    span.attributes.add(key="llm.token_count.completion", value=scalar(4))
    span.attributes.add(key="llm.token_count.total", value=scalar(7))
    span.attributes.add(key=rng.choice(["openinference.span.kind", "gen_ai.operation.name", "traceloop.span.kind"]),
                        value=scalar(rng.choice(NON_ASCII_TYPES)))
    span.attributes.add(key=rng.choice(["gen_ai.usage.input_tokens", "llm.usage.prompt_tokens", "llm.usage.total_tokens"]),
                        value=scalar("12"))


def _odd_token_other(rng: random.Random, span: Span) -> None:
    span.attributes.add(key=rng.choice(_TOKEN_KEYS), value=odd_value(rng))


def _odd_map_repeated_key(rng: random.Random, span: Span) -> None:
    value = fast_map(rng)
    value.kvlist_value.values.add(key="twice", value=fast_value(rng))
    value.kvlist_value.values.add(key="twice", value=fast_value(rng))
    target = rng.choice(["span", "event", "link"])
    if target == "event":
        span.events.add(name="log").attributes.add(key="m", value=value)
    elif target == "link":
        span.links.add(trace_id=span.trace_id, span_id=b"\x05" * 8).attributes.add(key="m", value=value)
    else:
        span.attributes.add(key=rng.choice(_OTHER_KEYS + _TEXT_KEYS), value=value)


def _odd_nested_attribute_repeated_key(rng: random.Random, span: Span) -> None:
    target = span.events.add(name="log") if rng.random() < 0.5 else span.links.add(trace_id=span.trace_id)
    target.attributes.add(key="k", value=scalar(1))
    target.attributes.add(key="k", value=scalar(2))


def _odd_value(rng: random.Random, span: Span) -> None:
    span.attributes.add(key=rng.choice(_FAST_KEYS), value=odd_value(rng))


def _odd_nested_array(rng: random.Random, span: Span) -> None:
    span.attributes.add(key=rng.choice(_OTHER_KEYS + _TEXT_KEYS),
                        value=array_of([array_of([fast_scalar(rng)]), fast_scalar(rng)]))


def _odd_non_string_type(rng: random.Random, span: Span) -> None:
    # str() of these is Python's repr (of a list: with quotes chosen by repr).
    value = rng.choice([array_of([scalar("llm"), scalar("it's")]), array_of([]),
                        scalar(rng.choice(DOUBLES)), scalar(7), scalar(True)])
    span.attributes.add(key=rng.choice(_TYPE_KEYS + ["gen_ai.operation.name", "traceloop.span.kind",
                                                      "llm.request.type"]), value=value)


def _odd_mlflow(rng: random.Random, span: Span) -> None:
    for key in rng.sample(MLFLOW_KEYS, rng.randint(1, 3)):
        span.attributes.add(key=key, value=scalar(rng.choice([
            '"LLM"', "CHAT_MODEL", '"unterminated', '"gpt-4o"', "[1, 2]",
            '{"input_tokens": 3, "output_tokens": 4, "total_tokens": 9}', "{not json", "x"])))


def _odd_langfuse(rng: random.Random, span: Span) -> None:
    for key in rng.sample(LANGFUSE_KEYS, rng.randint(1, 3)):
        span.attributes.add(key=key, value=scalar(rng.choice([
            "generation", "span", "event", "TOOL", "retriever", "nonsense", "hello",
            '{"input": 5, "output": 6, "total": 11}', '{"prompt_tokens": 7, "completion_tokens": 2}'])))


def _odd_indexed_prompt(rng: random.Random, span: Span) -> None:
    keys = {rng.choice(["gen_ai.prompt.0.content", "gen_ai.completion.0.content"]),
            *rng.sample(INDEXED_KEYS, rng.randint(0, 4))}
    _without(span, keys)
    for key in sorted(keys):
        span.attributes.add(key=key, value=rng.choice([scalar(rng.choice(TEXTS)), scalar("user"),
                                                        fast_value(rng)]))


def _odd_indexed_without_first(rng: random.Random, span: Span) -> None:
    # Indexed keys but no ``.0.content``: no message list is made.
    for key in rng.sample([k for k in INDEXED_KEYS if not k.endswith(".0.content")], rng.randint(1, 3)):
        span.attributes.add(key=key, value=rng.choice([scalar(rng.choice(TEXTS)), scalar("user"),
                                                        fast_value(rng)]))


def _odd_repeated_key(rng: random.Random, span: Span) -> None:
    if not span.attributes:
        span.attributes.add(key="first", value=scalar("one"))
    key = rng.choice(span.attributes).key
    span.attributes.add(key=key, value=fast_value(rng))


def _odd_time(rng: random.Random, span: Span) -> None:
    field = rng.choice(["start_time_unix_nano", "end_time_unix_nano", "both"])
    big = rng.choice([INT64_MAX + 1, 2**64 - 1, 2**63 + 10**9])
    if field in ("start_time_unix_nano", "both"):
        span.start_time_unix_nano = big
    if field in ("end_time_unix_nano", "both"):
        span.end_time_unix_nano = rng.choice([big, 2**64 - 1])


def _odd_kind(rng: random.Random, span: Span) -> None:
    span.kind = rng.choice([6, 7, 100, -1, -6, 2**31 - 1])


def _odd_negative_kind(rng: random.Random, span: Span) -> None:
    # Below -6 the Python path's tuple lookup fails (IndexError): the request is refused.
    span.kind = rng.choice([-7, -(2**31)])


def _odd_status(rng: random.Random, span: Span) -> None:
    span.status.code = rng.choice([3, 5, 2**31 - 1, -1, -3])
    span.status.message = rng.choice(["", "odd"])


def _odd_ids(rng: random.Random, span: Span) -> None:
    choice = rng.randrange(6)
    if choice == 0:
        span.trace_id = b""
    elif choice == 1:
        span.span_id = bytes(8)
    elif choice == 2:
        span.span_id = rng.randbytes(rng.choice([1, 4, 7, 9, 16]))
    elif choice == 3:
        span.trace_id = rng.randbytes(rng.choice([1, 8, 15, 17, 32]))
    elif choice == 4:
        span.parent_span_id = bytes(8)
    else:
        span.parent_span_id = rng.randbytes(rng.choice([1, 3, 16]))


def _odd_event(rng: random.Random, span: Span) -> None:
    event = span.events.add(name=rng.choice(["exception", "log", ""]),
                            time_unix_nano=rng.choice([0, min(span.start_time_unix_nano + 5, 2**64 - 1), 2**64 - 1]))
    _set_attributes(event.attributes, [(key, odd_value(rng)) for key in ("exception.message", "n")])


def _odd_evaluation_event(rng: random.Random, span: Span) -> None:
    event = span.events.add(name="gen_ai.evaluation.result",
                            time_unix_nano=rng.choice([0, min(span.start_time_unix_nano + 7, 2**64 - 1), 2**64 - 1]))
    attributes: list[tuple[str, AnyValue]] = [
        ("gen_ai.evaluation.name", scalar(rng.choice(["correctness", "user_feedback", ""]))),
    ]
    choice = rng.randrange(4)
    if choice == 0:
        attributes.append(("gen_ai.evaluation.score.value", scalar(rng.choice([0.5, 1, float("nan")]))))
    elif choice == 1:
        attributes.append(("gen_ai.evaluation.score.label", scalar("good")))
    elif choice == 2:
        attributes.append(("otel_feedback.assessment.value", scalar(rng.choice(["true", "{\"a\": 1}", "bare"]))))
    if rng.random() < 0.5:
        attributes += [("otel_feedback.assessment.type", scalar(rng.choice(["expectation", "FEEDBACK", "x"]))),
                       ("otel_feedback.assessment.source.type", scalar("HUMAN")),
                       ("gen_ai.evaluation.explanation", scalar(rng.choice(TEXTS))),
                       ("otel_feedback.assessment.metadata", scalar(rng.choice(['{"a": 1}', "bare"])))]
    _set_attributes(event.attributes, attributes)


def _odd_link(rng: random.Random, span: Span) -> None:
    link = span.links.add(trace_id=rng.choice([span.trace_id, b""]), span_id=_random_id(rng, 8),
                          trace_state=rng.choice(["", "k=v"]))
    if rng.random() < 0.5:
        link.flags = 0x100
    _set_attributes(link.attributes, [("link.kind", odd_value(rng))])


SpanShape = Callable[[random.Random, Span], None]

# One odd shape each; every one of them must send the request to the Python path.
ODD_SHAPES: dict[str, SpanShape] = {
    "evaluation event": _odd_evaluation_event,
    "map value with a repeated key": _odd_map_repeated_key,
    "event or link attribute key repeated": _odd_nested_attribute_repeated_key,
    "span kind 6 and beyond, or negative": _odd_kind,
    "status code beyond 2": _odd_status,
    "MLflow key": _odd_mlflow,
    "Langfuse key": _odd_langfuse,
    "indexed prompt": _odd_indexed_prompt,
    "string token count": _odd_token_string,
    "non-ASCII span type": _odd_span_type,
    "repeated attribute key": _odd_repeated_key,
    "time beyond int64": _odd_time,
}
# Odd shapes the native path may take itself or leave to Python: either way, the same rows.
MAYBE_SHAPES: dict[str, SpanShape] = {
    "event with odd values": _odd_event,
    "link with odd values": _odd_link,
    "bytes, empty, kvlist or nested value": _odd_value,
    "nested array": _odd_nested_array,
    "token count of another kind": _odd_token_other,
    "non-string span type": _odd_non_string_type,
    "span kind below -6": _odd_negative_kind,
    "indexed keys without the first content": _odd_indexed_without_first,
    "unread non-ASCII type and text token count": _odd_unread_value,
    "empty, zero or short ids": _odd_ids,
}
# Mixed into random requests: all but the shape that makes the Python path refuse the whole
# request (the tests make that one on its own).
_ALL_ODD = [shape for shape in [*ODD_SHAPES.values(), *MAYBE_SHAPES.values()] if shape is not _odd_negative_kind]


# --- Resources and requests ------------------------------------------------------------------

def _resource_attributes(rng: random.Random, odd: bool) -> list[tuple[str, AnyValue]]:
    attributes: list[tuple[str, AnyValue]] = []
    if rng.random() < 0.8:
        attributes.append(("service.name", scalar(rng.choice(["chat-app", "svc", "", "сервис 😀"]))))
    if rng.random() < 0.5:
        attributes += [("telemetry.sdk.name", scalar("opentelemetry")),
                       ("telemetry.sdk.version", scalar("1.27.0")),
                       ("process.pid", scalar(rng.randint(1, 99999)))]
    if rng.random() < 0.2:
        attributes.append(("otel_feedback.experiment", scalar(rng.choice(["exp-1", "", "экс"]))))
    if rng.random() < 0.1:
        attributes.append(("host.cpus", array_of([scalar(1.5), scalar(2)])))
    if odd:
        attributes = [(key, value) for key, value in attributes if key != "service.name"]
        choice = rng.randrange(6)
        if choice == 0:
            attributes += [("service.name", scalar("one")), ("service.name", scalar(rng.choice(["dup", 7])))]
        elif choice in (1, 2):  # service_name is str() of it, the experiment its JSON
            attributes.append(("service.name", rng.choice([
                scalar(rng.choice([3, 0, -(2**63)])), scalar(rng.choice(DOUBLES)), scalar(True),
                array_of([scalar("a'b"), scalar(2)]), array_of([scalar('"'), scalar("é\n")]),
                odd_value(rng)])))
        elif choice == 3:
            attributes.append(("otel_feedback.experiment", odd_value(rng)))
        else:
            attributes.append((rng.choice(_OTHER_KEYS), odd_value(rng)))
    rng.shuffle(attributes)
    return attributes


def _add_resource_spans(rng: random.Random, request: ExportTraceServiceRequest, odd: float,
                        spans_left: int, trace_ids: list[bytes], span_keys: list[tuple[bytes, bytes]]) -> int:
    resource_spans: ResourceSpans = request.resource_spans.add()
    if rng.random() < 0.9:
        _set_attributes(resource_spans.resource.attributes, _resource_attributes(rng, rng.random() < odd))
    if rng.random() < 0.2:
        resource_spans.schema_url = "https://opentelemetry.io/schemas/1.24.0"
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        scope_spans = resource_spans.scope_spans.add()
        if rng.random() < 0.8:
            scope_spans.scope.name = rng.choice(["openinference.instrumentation.openai", "tests", "", "ü"])
        if rng.random() < 0.5:
            scope_spans.scope.version = rng.choice(["1.0.0", "", "0.1b0"])
        if rng.random() < 0.1:
            _set_attributes(scope_spans.scope.attributes, [("scope.attr", fast_scalar(rng))])
        if rng.random() < 0.1:
            scope_spans.schema_url = "https://opentelemetry.io/schemas/1.21.0"
        if rng.random() < 0.1:
            continue  # an empty scope
        for _ in range(rng.randint(1, max(1, spans_left))):
            if spans_left <= 0:
                break
            spans_left -= 1
            if span_keys and rng.random() < 0.03:  # the same span twice in one request
                trace_id, span_id = rng.choice(span_keys)
                span = fast_span(rng, trace_id, b"")
                span.span_id = span_id
            else:
                if not trace_ids or rng.random() < 0.3:
                    trace_ids.append(_random_id(rng, 16))
                trace_id = rng.choice(trace_ids)
                parent = rng.choice([b"", b"", *(s for t, s in span_keys if t == trace_id)])
                span = fast_span(rng, trace_id, parent)
            if rng.random() < odd:
                for shape in rng.sample(_ALL_ODD, rng.choice([1, 1, 1, 2, 3])):
                    shape(rng, span)
            span_keys.append((span.trace_id, span.span_id))
            scope_spans.spans.append(span)
    return spans_left


def random_request(rng: random.Random, *, odd: float = 0.1, max_spans: int = 12) -> ExportTraceServiceRequest:
    """A request of 0..``max_spans`` spans in one or more resources and scopes; each span (and
    each resource) is odd with probability ``odd``."""
    request = ExportTraceServiceRequest()
    spans_left = rng.randint(0, max_spans) if rng.random() < 0.05 else rng.randint(1, max_spans)
    trace_ids: list[bytes] = []
    span_keys: list[tuple[bytes, bytes]] = []
    for _ in range(rng.choice([1, 1, 1, 1, 2, 3])):
        spans_left = _add_resource_spans(rng, request, odd, spans_left, trace_ids, span_keys)
    if rng.random() < 0.05:
        request.resource_spans.add()  # a resource without scopes
    return request


def request_with_shape(rng: random.Random, shape: SpanShape, *, last: bool = False) -> ExportTraceServiceRequest:
    """A fast-path request, one of whose spans (the last one when ``last``) then gets ``shape``."""
    while True:
        request = random_request(rng, odd=0.0)
        spans = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
        if spans:
            shape(rng, spans[-1] if last else rng.choice(spans))
            return request


def payloads(seed: int, count: int, *, odd: float = 0.1, max_spans: int = 12) -> list[bytes]:
    """``count`` serialized requests from one seed."""
    rng = random.Random(seed)
    return [random_request(rng, odd=odd, max_spans=max_spans).SerializeToString() for _ in range(count)]
