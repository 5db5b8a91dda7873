"""Turning a page of trace rows into a pyarrow table, and into JSON for the REST API.

A row is a dict with the ``traces`` view columns, ``request`` / ``response`` (the root span's
full input and output, JSON-decoded where they are JSON) and ``assessments`` (name -> current
value). In a table, the trace columns keep fixed Arrow types; ``request``, ``response`` and one
``assessments.<name>`` column per assessment name hold the decoded values when Arrow can type
the column (all booleans, all numbers, all strings, dicts of one shape...), and otherwise each
value as JSON text. The same function builds the table from local rows and from the REST API's
JSON, so both paths give the same shape.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

ASSESSMENT_COLUMN_PREFIX = "assessments."

TRACE_SCHEMA = pa.schema(
    [
        pa.field("trace_id", pa.string()),
        pa.field("name", pa.string()),
        pa.field("request_preview", pa.string()),
        pa.field("response_preview", pa.string()),
        pa.field("start_time", pa.timestamp("us", tz="UTC")),
        pa.field("end_time", pa.timestamp("us", tz="UTC")),
        pa.field("duration_ms", pa.float64()),
        pa.field("status", pa.string()),
        pa.field("span_count", pa.int64()),
        pa.field("input_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("total_tokens", pa.int64()),
        pa.field("session_id", pa.string()),
        pa.field("user_id", pa.string()),
        pa.field("experiment", pa.string()),
        pa.field("service_name", pa.string()),
    ]
)
_TIME_COLUMNS = frozenset({"start_time", "end_time"})


def typed_array(values: Sequence[Any]) -> pa.Array:
    """The values as one Arrow array of their own type, or as JSON text when they have none."""
    try:
        array = pa.array(values)
        if not _has_empty_struct(array.type):
            return array
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        pass
    return pa.array(
        [None if value is None else json.dumps(value, ensure_ascii=False) for value in values], type=pa.string()
    )


def _has_empty_struct(data_type: pa.DataType) -> bool:
    if pa.types.is_null(data_type):
        return False
    if pa.types.is_struct(data_type):
        return data_type.num_fields == 0 or any(_has_empty_struct(f.type) for f in data_type)
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return _has_empty_struct(data_type.value_type)
    return False


def traces_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """A table with one row per trace: trace columns, ``request``, ``response``, assessments."""
    columns: dict[str, pa.Array] = {}
    for field in TRACE_SCHEMA:
        values = [row.get(field.name) for row in rows]
        if field.name in _TIME_COLUMNS:
            values = [_as_datetime(value) for value in values]
        columns[field.name] = pa.array(values, type=field.type)
    for body in ("request", "response"):
        values = [row.get(body) for row in rows]
        columns[body] = typed_array(values) if rows else pa.array([], type=pa.string())
    for name in assessment_names(rows):
        values = [(row.get("assessments") or {}).get(name) for row in rows]
        columns[ASSESSMENT_COLUMN_PREFIX + name] = typed_array(values)
    return pa.table(columns)


def assessment_names(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every assessment name present in the rows, sorted."""
    names: set[str] = set()
    for row in rows:
        names.update((row.get("assessments") or {}).keys())
    return sorted(names)


def summary_to_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as the REST API's TraceSummary: times as RFC 3339 UTC strings, the rest as is."""
    result: dict[str, Any] = {}
    for key, value in row.items():
        result[key] = rfc3339(value) if isinstance(value, dt.datetime) else value
    return result


def rfc3339(moment: dt.datetime) -> str:
    """``2026-11-26T15:00:00.123456Z`` for an aware or UTC-naive datetime."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"


def _as_datetime(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    text = str(value)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
