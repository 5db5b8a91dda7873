"""Capturing values as span text: JSON where possible, bounded, never raising."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import uuid
from decimal import Decimal
from pathlib import PurePosixPath

import pydantic
import pytest
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_feedback import _span_attributes
from otel_feedback._serialize import serialize


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Doc:
    id: int
    text: str


class Message(pydantic.BaseModel):
    role: str
    content: str


def test_plain_values():
    assert serialize("hello") == ("hello", "text/plain", False)
    assert serialize(42) == ("42", "application/json", False)
    assert serialize(True) == ("true", "application/json", False)
    assert serialize(None) == ("null", "application/json", False)
    assert serialize(1.5) == ("1.5", "application/json", False)
    assert serialize({"q": "é", "n": [1, 2]}) == ('{"q":"é","n":[1,2]}', "application/json", False)


def test_common_python_types_become_readable_json():
    value = {
        "when": dt.datetime(2026, 11, 26, 12, 30),
        "day": dt.date(2026, 11, 26),
        "color": Color.RED,
        "id": uuid.UUID(int=1),
        "price": Decimal("1.10"),
        "path": PurePosixPath("/tmp/x"),
        "doc": Doc(1, "text"),
        "message": Message(role="user", content="hi"),
        "tags": frozenset({"a"}),
        "pair": (1, 2),
        "blob": bytearray(b"abc"),
    }
    text, mime, truncated = serialize(value)
    assert mime == "application/json" and not truncated
    assert json.loads(text) == {
        "when": "2026-11-26T12:30:00",
        "day": "2026-11-26",
        "color": "red",
        "id": "00000000-0000-0000-0000-000000000001",
        "price": "1.10",
        "path": "/tmp/x",
        "doc": {"id": 1, "text": "text"},
        "message": {"role": "user", "content": "hi"},
        "tags": ["a"],
        "pair": [1, 2],
        "blob": "<3 bytes>",
    }


def test_generators_are_not_consumed():
    def numbers():
        yield 1

    gen = numbers()
    text, _, _ = serialize({"gen": gen})
    assert "generator object" in text
    assert next(gen) == 1


def test_cap_applies_to_strings_and_json():
    assert serialize("abcdef", limit=3) == ("abc…[truncated]", "text/plain", True)
    text, mime, truncated = serialize({"items": list(range(100))}, limit=20)
    assert truncated and mime == "text/plain" and text.startswith('{"items":[0,1,2')
    assert len(text) == 20 + len("…[truncated]")


def test_deep_nesting_and_cycles_do_not_raise():
    deep: list = []
    cursor = deep
    for _ in range(5_000):
        cursor.append([])
        cursor = cursor[0]
    text, mime, _ = serialize(deep)
    assert "<max depth>" in text
    loop: dict = {}
    loop["self"] = loop
    assert json.loads(serialize(loop)[0]) == {"self": "<cycle>"}


def test_output_attributes_respect_sdk_limits_through_the_public_path():
    exporter = InMemorySpanExporter()
    provider = TracerProvider(span_limits=SpanLimits(max_span_attribute_length=5))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    span = provider.get_tracer("t").start_span("limited")
    _span_attributes.set_plain_attributes(span, {"output.value": "0123456789", "flag": True})
    span.end()
    [finished] = exporter.get_finished_spans()
    assert finished.attributes["output.value"] == "01234"
    assert finished.attributes["flag"] is True


def test_output_attributes_direct_path_matches_public_one():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    for name, setter in (("direct", _span_attributes.set_plain_attributes), ("public", None)):
        span = tracer.start_span(name, attributes={"openinference.span.kind": "LLM"})
        values = {"output.value": "x", "output.mime_type": "text/plain", "otel_feedback.output.truncated": True}
        if setter is None:
            span.set_attributes(values)
        else:
            setter(span, values)
        span.end()
        span.set_attributes({"late": "dropped"})  # after end: ignored on both paths
        _span_attributes.set_plain_attributes(span, {"late": "dropped"})
    direct, public = exporter.get_finished_spans()
    assert dict(direct.attributes) == dict(public.attributes)
    assert "late" not in direct.attributes


@pytest.mark.parametrize("limit", [1, 2])
def test_output_attributes_respect_the_attribute_count_limit(limit):
    exporter = InMemorySpanExporter()
    provider = TracerProvider(span_limits=SpanLimits(max_span_attributes=limit))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    span = provider.get_tracer("t").start_span("few")
    _span_attributes.set_plain_attributes(span, {"a": "1", "b": "2", "c": "3"})
    span.end()
    [finished] = exporter.get_finished_spans()
    assert len(finished.attributes) == limit
