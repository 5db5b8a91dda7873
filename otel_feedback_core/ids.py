"""The id rules: trace ids, span ids (lowercase hex, as OTLP JSON and the W3C trace context write
them) and assessment ids (the idempotency key a client may choose)."""

from __future__ import annotations

import re
from typing import Any

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_SPAN_ID = re.compile(r"^[0-9a-f]{16}$")
_ASSESSMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def is_trace_id(text: str) -> bool:
    """True when ``text`` is exactly 32 lowercase hex characters (no normalising)."""
    return _TRACE_ID.fullmatch(text) is not None


def is_span_id(text: str) -> bool:
    """True when ``text`` is exactly 16 lowercase hex characters (no normalising)."""
    return _SPAN_ID.fullmatch(text) is not None


def validate_trace_id(trace_id: Any) -> str:
    """Return ``trace_id`` as 32 lowercase hex characters, or raise a ``ValueError`` saying why."""
    if not isinstance(trace_id, str):
        raise ValueError(f"trace_id must be a string of 32 hex characters; got {type(trace_id).__name__}")
    normalized = trace_id.strip().lower()
    if not _TRACE_ID.match(normalized) or normalized == "0" * 32:
        raise ValueError(
            f"trace_id must be 32 hex characters (as get_last_active_trace_id() returns); got {trace_id!r}"
        )
    return normalized


def validate_span_id(span_id: Any) -> str:
    """Return ``span_id`` as 16 lowercase hex characters, or raise a ``ValueError``."""
    if not isinstance(span_id, str) or not _SPAN_ID.match(span_id.strip().lower()) or set(span_id) == {"0"}:
        raise ValueError(f"span_id must be 16 hex characters; got {span_id!r}")
    return span_id.strip().lower()


def validate_assessment_id(assessment_id: Any) -> str:
    """An assessment id (the idempotency key): 1-128 letters, digits, ``_``, ``.``, ``:``, ``-``."""
    if not isinstance(assessment_id, str) or not _ASSESSMENT_ID.match(assessment_id):
        raise ValueError(
            "assessment_id must be 1 to 128 characters of letters, digits, '_', '.', ':' or '-' "
            f"(a UUID works); got {assessment_id!r}"
        )
    return assessment_id
