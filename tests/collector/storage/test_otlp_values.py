"""A span's attribute JSON text is the same whichever encoder wrote it (orjson for plain lists,
the standard library otherwise): stored rows do not depend on the fast path."""

from __future__ import annotations

import json

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue

from otel_feedback_collector.storage.otlp_values import attributes_and_json, key_values_to_dict, to_json

_STANDARD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _every_code_point() -> list[str]:
    """Every Unicode scalar value (no surrogates), in strings of 4096 characters."""
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    return ["".join(points[i : i + 4096]) for i in range(0, len(points), 4096)]


def test_plain_attributes_encode_every_code_point_as_the_standard_library_does() -> None:
    texts = _every_code_point()
    attributes = [KeyValue(key=f"k{i}\n\"{text[:3]}", value=AnyValue(string_value=text)) for i, text in enumerate(texts)]
    attributes += [
        KeyValue(key="int", value=AnyValue(int_value=-(2**63))),
        KeyValue(key="big", value=AnyValue(int_value=2**63 - 1)),
        KeyValue(key="yes", value=AnyValue(bool_value=True)),
        KeyValue(key="bytes", value=AnyValue(bytes_value=b"\x00\xff")),
        KeyValue(key="empty", value=AnyValue()),
    ]
    values, encoded = attributes_and_json(attributes)
    assert values == key_values_to_dict(attributes)
    assert encoded.decode("utf-8") == _STANDARD.encode(values) == to_json(values)


def test_doubles_and_lists_are_written_by_the_standard_encoder() -> None:
    attributes = [
        KeyValue(key="small", value=AnyValue(double_value=1e-07)),
        KeyValue(key="inf", value=AnyValue(double_value=float("inf"))),
        KeyValue(key="list", value=AnyValue(array_value=ArrayValue(values=[AnyValue(double_value=1e16)]))),
    ]
    values, encoded = attributes_and_json(attributes)
    assert encoded.decode("utf-8") == to_json(values) == '{"small":1e-07,"inf":"Infinity","list":[1e+16]}'
