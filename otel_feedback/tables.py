"""Trace rows as ``search_traces`` returns them: a list of dicts, or a pyarrow table.

A row is a dict with the ``traces`` view columns (``otel_feedback_core.layout.TRACE_COLUMNS``),
``request`` / ``response`` (the root span's full input and output, JSON-decoded where they are
JSON) and ``assessments`` (name -> current value). As a list, each row has the trace columns
(times as aware UTC datetimes), ``request``, ``response`` and one ``assessments.<name>`` key per
assessment name found in the rows. As a table (pyarrow, imported only here and only when a table
is asked for), the trace columns keep fixed Arrow types; ``request``, ``response`` and each
``assessments.<name>`` column hold the decoded values when Arrow can type the column (all
booleans, all numbers, all strings, dicts of one shape...), and otherwise each value as JSON
text. The same functions serve rows read from files and rows from the REST API's JSON, so both
paths give the same shape.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from otel_feedback_core.layout import ASSESSMENT_COLUMN_PREFIX, TRACE_COLUMNS

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ASSESSMENT_COLUMN_PREFIX", "assessment_names", "require_pyarrow", "trace_records", "traces_table", "typed_array"]

_TIME_COLUMNS = frozenset(name for name, kind in TRACE_COLUMNS.items() if kind == "timestamp")
_PYARROW_HINT = (
    'pip install "otel-feedback[collector]" (or pip install pyarrow), or pass return_type="list" '
    "for a list of dicts that needs nothing more"
)


def require_pyarrow() -> Any:
    """The ``pyarrow`` module, or ``ImportError`` saying how to install it."""
    try:
        import pyarrow
    except ImportError:
        raise ImportError(f"a table needs pyarrow, which is not installed: {_PYARROW_HINT}") from None
    return pyarrow


def trace_records(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows as plain dicts with the table's keys, without pyarrow."""
    names = assessment_names(rows)
    records = []
    for row in rows:
        record: dict[str, Any] = {}
        for column in TRACE_COLUMNS:
            value = row.get(column)
            record[column] = _as_datetime(value) if column in _TIME_COLUMNS else value
        record["request"] = row.get("request")
        record["response"] = row.get("response")
        current = row.get("assessments") or {}
        for name in names:
            record[ASSESSMENT_COLUMN_PREFIX + name] = current.get(name)
        records.append(record)
    return records


def typed_array(values: Sequence[Any]) -> pa.Array:
    """The values as one Arrow array of their own type, or as JSON text when they have none."""
    pa = require_pyarrow()
    try:
        array = pa.array(values)
        if not _has_empty_struct(pa, array.type):
            return array
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        pass
    return pa.array(
        [None if value is None else json.dumps(value, ensure_ascii=False) for value in values], type=pa.string()
    )


def _has_empty_struct(pa: Any, data_type: pa.DataType) -> bool:
    if pa.types.is_null(data_type):
        return False
    if pa.types.is_struct(data_type):
        return data_type.num_fields == 0 or any(_has_empty_struct(pa, f.type) for f in data_type)
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return _has_empty_struct(pa, data_type.value_type)
    return False


def traces_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """A table with one row per trace: trace columns, ``request``, ``response``, assessments."""
    pa = require_pyarrow()
    arrow_types = {
        "string": pa.string(), "timestamp": pa.timestamp("us", tz="UTC"), "double": pa.float64(), "int64": pa.int64(),
    }
    columns: dict[str, pa.Array] = {}
    for name, kind in TRACE_COLUMNS.items():
        values = [row.get(name) for row in rows]
        if name in _TIME_COLUMNS:
            values = [_as_datetime(value) for value in values]
        columns[name] = pa.array(values, type=arrow_types[kind])
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


def _as_datetime(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    text = str(value)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
