"""The web UI's read queries over the storage views (what the REST API does not already give).

Every function takes a DuckDB connection opened for this request alone (``store.connect()``),
and every value from a request travels as a ``?`` parameter, never inside the SQL text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from otel_feedback_collector.api.queries import fetch_dicts
from otel_feedback_collector.query.search import one_trace_spans, root_bodies_of, traces_by_id
from otel_feedback_collector.storage.span_types import live_span_types

# The compact span list's columns, in the order of each row array (see docs/ui.md).
COMPACT_SPAN_COLUMNS = ("span_id", "parent_span_id", "name", "span_type", "start_ms", "duration_ms", "status")


@dataclass(frozen=True)
class AssessmentNote:
    """What the traces table shows when hovering an assessment cell (and the column's kind)."""

    rationale: str | None
    source_type: str | None
    source_id: str | None
    type: str | None = None


def compact_spans(connection: duckdb.DuckDBPyConnection, trace_id: str) -> dict[str, Any] | None:
    """The trace's spans as small arrays (start in ms after the trace start), or
    None when the trace has no span."""
    source, where, params = one_trace_spans(connection, trace_id)
    rows = connection.execute(
        f"""SELECT span_id, parent_span_id, name, span_type, start_time_unix_nano, duration_ms, status_code
            FROM {source} WHERE {where}
            ORDER BY start_time_unix_nano, span_id""",
        params,
    ).fetchall()
    if not rows:
        return None
    trace_start = min(row[4] for row in rows)
    trace_end = max(row[4] + int((row[5] or 0) * 1e6) for row in rows)
    # An unknown duration (a clamped time) stays null: the page shows none rather than "0 ms".
    spans = [
        [span_id, parent, name, span_type, (start - trace_start) / 1e6, duration, status]
        for span_id, parent, name, span_type, start, duration, status in rows
    ]
    return {
        "trace_id": trace_id,
        "columns": list(COMPACT_SPAN_COLUMNS),
        "duration_ms": (trace_end - trace_start) / 1e6,
        "spans": spans,
    }


def span_row(connection: duckdb.DuckDBPyConnection, trace_id: str, span_id: str) -> dict[str, Any] | None:
    """Every column of one span, or None."""
    source, where, params = one_trace_spans(connection, trace_id)
    rows = fetch_dicts(connection, f"SELECT * FROM {source} WHERE {where} AND span_id = ? LIMIT 1", [*params, span_id])
    return rows[0] if rows else None


def assessment_names(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Every assessment name ever used, for the "name" suggestions."""
    return [row[0] for row in connection.execute("SELECT DISTINCT name FROM assessment_log ORDER BY name").fetchall()]


_VALUE_TYPES = {"BOOLEAN": "boolean", "VARCHAR": "text", "OBJECT": "json", "ARRAY": "json"}


def assessment_value_types(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each assessment name's usual value type (``boolean``, ``number``, ``text`` or ``json``: the
    most common among its values), so the "Add assessment" form starts on the right one."""
    rows = connection.execute(
        """
        SELECT name, json_type(value) AS kind, count(*) AS uses
        FROM assessment_log WHERE value IS NOT NULL AND json_valid(value)
        GROUP BY ALL ORDER BY name, uses DESC, kind
        """
    ).fetchall()
    found: dict[str, str] = {}
    for name, kind, _uses in rows:
        found.setdefault(name, _VALUE_TYPES.get(kind, "number"))
    return found


def span_types(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The span types present in the data, for the traces table's filter (read once per
    span file, not per page load: storage/span_types.py)."""
    return live_span_types(connection)


def traces_matching_text(
    connection: duckdb.DuckDBPyConnection, text: str, *, experiment: str | None, limit: int
) -> list[str]:
    """Ids of up to ``limit`` traces with a span whose input or output contains ``text``
    (case-insensitive, literal: ``%`` and ``_`` are not wildcards)."""
    needle = text.lower()
    sql = (
        "SELECT DISTINCT trace_id FROM spans WHERE "
        "(contains(lower(input), ?) OR contains(lower(output), ?))"
    )
    params: list[Any] = [needle, needle]
    if experiment is not None:
        sql += " AND trace_id IN (SELECT trace_id FROM traces WHERE experiment = ?)"
        params.append(experiment)
    rows = connection.execute(sql + " LIMIT ?", [*params, limit]).fetchall()
    return [row[0] for row in rows]


def assessment_notes(
    connection: duckdb.DuckDBPyConnection, trace_ids: Sequence[str]
) -> dict[tuple[str, str], AssessmentNote]:
    """Rationale and source of the current (newest) assessment of each name on these traces."""
    if not trace_ids:
        return {}
    rows = connection.execute(
        """SELECT trace_id, name, rationale, source_type, source_id, type FROM assessments
           WHERE list_contains(?, trace_id)
           QUALIFY row_number() OVER (
               PARTITION BY trace_id, name ORDER BY created_time_unix_nano DESC, assessment_id DESC) = 1""",
        [list(trace_ids)],
    ).fetchall()
    return {(trace_id, name): AssessmentNote(rationale, source_type, source_id, kind)
            for trace_id, name, rationale, source_type, source_id, kind in rows}


# A root input or output longer than this is read as its 200-character preview: the table
# shows a line of it, and a megabyte value would be read for every row of the page.
READABLE_VALUE_CHARS = 65536


def root_values(
    connection: duckdb.DuckDBPyConnection, trace_ids: Sequence[str]
) -> dict[str, tuple[str | None, str | None]]:
    """(input, output) of each trace's root span (the earliest span without a parent)."""
    if not trace_ids:
        return {}
    rows = traces_by_id(connection, trace_ids)
    previews = {row["trace_id"]: (row["request_preview"], row["response_preview"]) for row in rows}
    values: dict[str, tuple[str | None, str | None]] = {}
    for trace_id, texts in root_bodies_of(connection, rows).items():
        # A value too long to show falls back to its preview (reading it was the cost).
        values[trace_id] = tuple(
            text if text is None or len(text) <= READABLE_VALUE_CHARS else preview
            for text, preview in zip(texts, previews.get(trace_id, (None, None)))
        )  # type: ignore[assignment]
    return values


def span_search(connection: duckdb.DuckDBPyConnection, trace_id: str, text: str) -> list[str]:
    """Ids of the trace's spans whose name, span type, input or output contains ``text``
    (case-insensitive, literal), in start order."""
    needle = text.lower()
    source, where, params = one_trace_spans(connection, trace_id)
    rows = connection.execute(
        f"""SELECT span_id FROM {source} WHERE {where}
             AND (contains(lower(name), ?) OR contains(lower(coalesce(span_type, 'UNKNOWN')), ?)
                  OR contains(lower(input), ?) OR contains(lower(output), ?))
           ORDER BY start_time_unix_nano, span_id""",
        [*params, needle, needle, needle, needle],
    ).fetchall()
    return [row[0] for row in rows]
