"""The API's read queries over the storage views (``spans``, ``traces``, ``assessment_log``).

Every function takes a DuckDB connection that the caller opened for this request alone
(``store.connect()``; a connection is never shared between threads) and passes user input only
as ``?`` parameters — no value from a request is ever formatted into SQL text.
"""

from __future__ import annotations

from typing import Any

import duckdb

from otel_feedback_collector.api.assessment_json import record_from_row
from otel_feedback_collector.query.search import one_trace_spans, traces_by_id
from otel_feedback_collector.storage import AssessmentRecord


def fetch_dicts(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: list[Any] | None = None
) -> list[dict[str, Any]]:
    """Run a parameterized query; return its rows as ``{column: value}`` dicts."""
    cursor = connection.execute(sql, parameters or [])
    columns = [column[0] for column in cursor.description or []]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def trace_exists(connection: duckdb.DuckDBPyConnection, trace_id: str) -> bool:
    """True when at least one span of ``trace_id`` is in Parquet (its ``traces`` row exists:
    one row per trace, a much smaller read than the spans)."""
    return bool(traces_by_id(connection, [trace_id]))


def span_exists(connection: duckdb.DuckDBPyConnection, trace_id: str, span_id: str) -> bool:
    """True when span ``span_id`` of trace ``trace_id`` is in Parquet."""
    source, where, params = one_trace_spans(connection, trace_id)
    return bool(fetch_dicts(connection, f"SELECT 1 AS found FROM {source} WHERE {where} AND span_id = ? LIMIT 1", [*params, span_id]))


def trace_spans(
    connection: duckdb.DuckDBPyConnection, trace_id: str, window: tuple[int, int] | None = None
) -> list[dict[str, Any]]:
    """The ``spans`` rows of ``trace_id``, in start order (``window``: see ``one_trace_spans``)."""
    source, where, params = one_trace_spans(connection, trace_id, window)
    return fetch_dicts(connection, f"SELECT * FROM {source} WHERE {where} ORDER BY start_time_unix_nano, span_id", params)


def trace_assessment_log(connection: duckdb.DuckDBPyConnection, trace_id: str) -> list[AssessmentRecord]:
    """Every ``assessment_log`` row of ``trace_id`` (creates, overrides, deletes)."""
    rows = fetch_dicts(
        connection,
        "SELECT * FROM assessment_log WHERE trace_id = ? "
        "ORDER BY created_time_unix_nano, assessment_id",
        [trace_id],
    )
    return [record_from_row(row) for row in rows]


def assessment_by_id(connection: duckdb.DuckDBPyConnection, assessment_id: str) -> AssessmentRecord | None:
    """The ``assessment_log`` row with this id, on any trace, or None."""
    rows = fetch_dicts(connection, "SELECT * FROM assessment_log WHERE assessment_id = ? LIMIT 1", [assessment_id])
    return record_from_row(rows[0]) if rows else None


def experiment_list(connection: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """One row per experiment (the ``experiment`` column, else the service name), newest first."""
    return fetch_dicts(
        connection,
        """
        SELECT coalesce(experiment, service_name, 'unknown_service') AS name,
               count(*) AS trace_count,
               max(start_time) AS last_trace_time
        FROM traces
        GROUP BY 1
        ORDER BY last_trace_time DESC NULLS LAST, name
        """,
    )
