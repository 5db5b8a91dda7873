"""The contract's Span and TraceSummary objects, built from view rows.

Spans keep every column of the ``spans`` view; the JSON text columns (``attributes``,
``resource_attributes``, ``events``, ``links``) are parsed into objects so a client never
double-decodes. A TraceSummary is a ``traces`` row plus ``assessments``: ``{name: value}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otel_feedback_collector.api.encoding import json_ready
from otel_feedback_core.json_text import decode_json_text

_JSON_OBJECT_COLUMNS = ("attributes", "resource_attributes")
_JSON_LIST_COLUMNS = ("events", "links")


def span_to_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``spans`` row as the contract's Span (JSON columns parsed; absent lists as ``[]``)."""
    span = json_ready(dict(row))
    for column in _JSON_OBJECT_COLUMNS:
        if column in span:
            span[column] = _parsed(span[column], empty={})
    for column in _JSON_LIST_COLUMNS:
        if column in span:
            span[column] = _parsed(span[column], empty=[])
    return span


def trace_summary_to_json(row: Mapping[str, Any], assessments: Mapping[str, Any]) -> dict[str, Any]:
    """A ``traces`` row as the contract's TraceSummary, with the current assessment values."""
    summary = json_ready(dict(row))
    summary["assessments"] = dict(assessments)
    return summary


def _parsed(text: Any, *, empty: Any) -> Any:
    return empty if text is None else decode_json_text(text)
