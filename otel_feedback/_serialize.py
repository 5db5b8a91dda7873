"""Turning a function's inputs and outputs into span attribute text.

Serialization runs on the traced call's own thread, so it is built to be cheap in the common
case (small dicts of plain values go through the C JSON encoder once) and bounded in the
uncommon ones: large values are encoded incrementally and cut at the size cap without ever
building the whole text, values JSON cannot represent fall back to a readable stand-in, and
nothing here ever raises into the app.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import os
import uuid
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any

from otel_feedback_core.wire import MIME_JSON, MIME_TEXT

logger = logging.getLogger(__name__)

DEFAULT_MAX_CHARS = 64 * 1024
_MAX_CHARS_ENV = "OTEL_FEEDBACK_MAX_CONTENT_CHARS"
# A container with more items than this is encoded incrementally (it may not fit the cap).
_LARGE_CONTAINER = 2_000
_REPR_LIMIT = 1_000
_SANITIZE_MAX_DEPTH = 32
_TRUNCATION_MARK = "…[truncated]"


def _max_chars_from_env() -> int:
    raw = os.environ.get(_MAX_CHARS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_CHARS
    try:
        value = int(raw)
        if value <= 0:
            raise ValueError
        return value
    except ValueError:
        logger.warning("%s=%r is not a positive integer; using %d", _MAX_CHARS_ENV, raw, DEFAULT_MAX_CHARS)
        return DEFAULT_MAX_CHARS


max_chars: int = _max_chars_from_env()
"""The size cap, in characters, for one captured input or output (settable via configure)."""


def _fallback(value: Any) -> Any:
    """JSON ``default=`` hook: a JSON-representable stand-in for ``value``; never raises."""
    try:
        if isinstance(value, Mapping):
            return dict(value)
        if isinstance(value, (set, frozenset)):
            return list(value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return f"<{len(value)} bytes>"
        if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
            return value.isoformat()
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, (uuid.UUID, Decimal, PurePath)):
            return str(value)
        model_dump = getattr(value, "model_dump", None)  # pydantic v2 (openai's response types)
        if callable(model_dump):
            return model_dump(mode="json")
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
        tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
        if callable(tolist):
            return tolist()
        if isinstance(value, (list, tuple)):
            return list(value)
    except Exception:  # noqa: BLE001 - a stand-in below is always better than raising
        pass
    return _safe_repr(value)


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001
        return f"<unserializable {type(value).__name__}>"
    if len(text) > _REPR_LIMIT:
        return text[:_REPR_LIMIT] + _TRUNCATION_MARK
    return text


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_fallback)

try:  # The C encoder, built once: json.dumps builds a new one on every call.
    from json.encoder import c_make_encoder as _c_make_encoder
    from json.encoder import encode_basestring as _encode_str  # ensure_ascii=False, as above

    # No circular-reference markers: a cycle ends in RecursionError, which takes the slow path.
    _c_encoder = _c_make_encoder(None, _fallback, _encode_str, None, ":", ",", False, False, True)

    def _encode_fast(value: Any) -> str:
        return "".join(_c_encoder(value, 0))

except ImportError:  # pragma: no cover - interpreters without the C accelerator
    _encode_fast = _ENCODER.encode

_SCALAR_JSON = {True: "true", False: "false"}


def _sanitize(value: Any, depth: int, active: set[int]) -> Any:
    """A JSON-safe copy of ``value``: string keys, no cycles, bounded depth (the slow path)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if depth >= _SANITIZE_MAX_DEPTH:
        return "<max depth>"
    marker = id(value)
    if marker in active:
        return "<cycle>"
    active.add(marker)
    try:
        if isinstance(value, Mapping):
            return {str(key): _sanitize(item, depth + 1, active) for key, item in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [_sanitize(item, depth + 1, active) for item in value]
        converted = _fallback(value)
        if converted is value or isinstance(converted, str):
            return converted
        return _sanitize(converted, depth + 1, active)
    finally:
        active.discard(marker)


def _looks_large(value: Any, limit: int) -> bool:
    """Cheap check (top level and one level down) for values that may not fit the cap."""
    kind = type(value)
    if kind is dict:
        if len(value) > _LARGE_CONTAINER:
            return True
        items = value.values()
    elif kind is list or kind is tuple:
        if len(value) > _LARGE_CONTAINER:
            return True
        items = value
    else:
        return False
    for item in items:
        item_kind = type(item)
        if item_kind is str or item_kind is bytes:
            if len(item) > limit:
                return True
        elif item_kind is list or item_kind is dict or item_kind is tuple:
            if len(item) > _LARGE_CONTAINER:
                return True
    return False


def _encode_bounded(value: Any, limit: int) -> tuple[str, bool]:
    """Encode incrementally, stopping as soon as ``limit`` characters are exceeded."""
    parts: list[str] = []
    size = 0
    for chunk in _ENCODER.iterencode(value):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            return "".join(parts)[:limit], True
    return "".join(parts), False


def _encode(value: Any, limit: int) -> tuple[str, bool]:
    try:
        if _looks_large(value, limit):
            return _encode_bounded(value, limit)
        text = _encode_fast(value)
    except (TypeError, ValueError, RecursionError):
        # Non-string keys, cycles, absurd nesting: encode a sanitized copy instead.
        return _encode_bounded(_sanitize(value, 0, set()), limit)
    if len(text) > limit:
        return text[:limit], True
    return text, False


def serialize(value: Any, *, limit: int | None = None) -> tuple[str, str, bool]:
    """Return ``(text, mime_type, truncated)`` for a captured input or output.

    A ``str`` is kept as it is (``text/plain``); anything else is JSON (``application/json``).
    Text over the cap is cut and marked, and then no longer claims to be JSON. Never raises.
    """
    cap = max_chars if limit is None else limit
    try:
        kind = type(value)
        if kind is str:
            if len(value) > cap:
                return value[:cap] + _TRUNCATION_MARK, MIME_TEXT, True
            return value, MIME_TEXT, False
        if kind is int:
            return str(value), MIME_JSON, False
        if kind is bool:
            return _SCALAR_JSON[value], MIME_JSON, False
        if value is None:
            return "null", MIME_JSON, False
        text, truncated = _encode(value, cap)
        if truncated:
            return text + _TRUNCATION_MARK, MIME_TEXT, True
        return text, MIME_JSON, False
    except Exception as exc:  # noqa: BLE001 - telemetry never breaks the app
        logger.debug("could not serialize a %s for a span", type(value).__qualname__, exc_info=exc)
        return f"<unserializable {type(value).__name__}>", MIME_TEXT, False
