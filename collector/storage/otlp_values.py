"""Turn OTLP protobuf values (``AnyValue``, ``KeyValue`` lists, ids) into plain Python values.

This is the hottest loop of the ingest path, so it is written for speed: one ``WhichOneof`` per
value and no generic protobuf reflection (``MessageToDict`` is an order of magnitude slower).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from orjson import dumps as _orjson_dumps


def any_value_to_python(value: AnyValue) -> Any:
    """Return the Python value of an OTLP ``AnyValue``: str, bool, int, float, list, dict or None.

    Bytes become base64 text so that the value can always be written as JSON.
    """
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "array_value":
        return [any_value_to_python(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return key_values_to_dict(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None


def key_values_to_dict(key_values: Iterable[KeyValue]) -> dict[str, Any]:
    """Return an OTLP attribute list as a dict (a repeated key keeps its last value)."""
    return _values(key_values)[0]


def attributes_and_json(key_values: Iterable[KeyValue]) -> tuple[dict[str, Any], bytes]:
    """Return an OTLP attribute list as a dict (like :func:`key_values_to_dict`) and the
    dict's JSON as UTF-8 (exactly the text :func:`to_json` gives, encoded; the span rows
    build their column from the bytes, without a Python string per span).

    A list of strings, integers and booleans (nearly every span's) is encoded by orjson, about
    ten times faster than the standard library for GenAI texts and byte for byte the same
    text for these types (tests/collector/storage/test_otlp_values.py checks every code
    point); a double (orjson writes some differently: ``1e-7``, not ``1e-07``), a list or a
    map anywhere in it goes through :func:`to_json`.
    """
    result, plain = _values(key_values)
    if plain:
        return result, _orjson_dumps(result)
    return result, to_json(result).encode("utf-8")


def _values(key_values: Iterable[KeyValue]) -> tuple[dict[str, Any], bool]:
    """The attribute dict, and whether every value is of a :data:`_PLAIN_KINDS` kind."""
    result: dict[str, Any] = {}
    plain = True
    for kv in key_values:
        value = kv.value
        # Strings are nearly every attribute: a non-empty one is its own proof of kind (an unset
        # string reads as ""), which spares the ``WhichOneof`` call for most values.
        text = value.string_value
        if text:
            result[kv.key] = text
            continue
        kind = value.WhichOneof("value")
        if kind == "string_value":
            result[kv.key] = text
        elif kind == "int_value":
            result[kv.key] = value.int_value
        else:
            result[kv.key] = any_value_to_python(value)
            plain = plain and kind in _PLAIN_KINDS
    return result, plain


# Kinds whose Python value orjson encodes exactly as the standard library does (bytes are
# base64 text by then; an empty AnyValue is None).
_PLAIN_KINDS = frozenset({"bool_value", "bytes_value", None})

_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), default=str, allow_nan=False
)


def to_json(value: Any) -> str:
    """Serialize a value as compact JSON text, keeping non-ASCII characters as they are.

    The text is always standard JSON: an infinite or NaN double (which OTLP allows) is written
    as the string ``"Infinity"``, ``"-Infinity"`` or ``"NaN"`` instead of a bare token that
    strict JSON readers refuse.
    """
    try:
        return _ENCODER.encode(value)
    except ValueError:  # a non-finite float somewhere; rare, so only then walk the value
        return _ENCODER.encode(_finite_floats(value))


def _finite_floats(value: Any) -> Any:
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        if math.isnan(value):
            return "NaN"
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {key: _finite_floats(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_floats(item) for item in value]
    return value


def hex_id(raw: bytes) -> str | None:
    """Return a trace or span id as lowercase hex, or None when it is empty or all zeros."""
    # Stripping the zero bytes (in C) is cheaper than ``any(raw)``, which makes an int per byte.
    if raw.strip(b"\0"):
        return raw.hex()
    return None
