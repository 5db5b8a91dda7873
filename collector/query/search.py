"""``search_traces``: one row per trace from the ``traces`` view, filtered, ordered and paged.

How it stays fast on millions of spans: the filter and the ORDER BY run first and select only
``trace_id`` (DuckDB then computes only the aggregates the filter and order need); the full
summaries, the root's request/response texts and the assessment values are read afterwards for
the page's trace ids alone. Per-row Python work happens only for the page (at most 1,000 rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from otel_feedback_collector.query.errors import FilterError
from otel_feedback_collector.query.fields import CURRENT_ASSESSMENTS_CTE, Condition, clause_condition, parse_order_by
from otel_feedback_collector.query.filter_parser import parse_filter
from otel_feedback_collector.query.page_tokens import decode_page_token, encode_page_token, search_fingerprint
from otel_feedback.tables import traces_table
from otel_feedback_collector.storage.datasets import parquet_paths_sql
from otel_feedback_collector.storage.file_traces import may_hold, trace_number
from otel_feedback_core.json_text import decode_json_text

MAX_RESULTS_LIMIT = 1000
DEFAULT_MAX_RESULTS = 100
# The root span (no parent) first, then the earliest: the same rule as the traces view.
_ROOT_FIRST = "(parent_span_id IS NOT NULL, start_time_unix_nano)"


@dataclass(frozen=True)
class TracePage:
    """One page of a search: rows (see otel_feedback/tables.py) and the next page's token."""

    rows: list[dict[str, Any]]
    next_page_token: str | None


def search_traces(
    connection: duckdb.DuckDBPyConnection,
    *,
    filter: str | None = None,  # noqa: A002 - the public name users know
    experiment: str | None = None,
    order_by: str | Sequence[str] | None = None,
    max_results: int = DEFAULT_MAX_RESULTS,
    page_token: str | None = None,
    include_bodies: bool = True,
) -> tuple[pa.Table, str | None]:
    """Search traces; return ``(table, next_page_token)``.

    ``connection`` has the storage views (``otel_feedback_collector.storage.connect(data_dir)``). ``filter``
    uses the filter language (docs/search.md), ``order_by`` a whitelisted column with ASC/DESC
    (default ``start_time DESC``), ``max_results`` is capped at 1,000; ``next_page_token`` is
    None on the last page. ``include_bodies=False`` leaves ``request``/``response`` empty (the
    previews stay) and saves reading the full input/output texts. Bad input raises
    ``FilterError`` (a ``ValueError``).
    """
    page = find_traces(
        connection,
        filter=filter,
        experiment=experiment,
        order_by=order_by,
        max_results=max_results,
        page_token=page_token,
        include_bodies=include_bodies,
    )
    return traces_table(page.rows), page.next_page_token


def find_traces(
    connection: duckdb.DuckDBPyConnection,
    *,
    filter: str | None = None,  # noqa: A002
    experiment: str | None = None,
    order_by: str | Sequence[str] | None = None,
    max_results: int = DEFAULT_MAX_RESULTS,
    page_token: str | None = None,
    include_bodies: bool = True,
) -> TracePage:
    """Like :func:`search_traces`, but the page as Python rows (what the REST API serializes)."""
    limit = _checked_max_results(max_results)
    conditions = [clause_condition(clause) for clause in parse_filter(filter or "")]
    if experiment is not None:
        if not isinstance(experiment, str):
            raise FilterError(f"experiment must be a string; got {type(experiment).__name__}.")
        conditions.append(Condition("t.experiment = ?", [experiment]))
    order_sql = parse_order_by(order_by)
    fingerprint = search_fingerprint(filter or "", experiment, order_sql)
    offset = decode_page_token(page_token, fingerprint)

    ids = _matching_trace_ids(connection, conditions, order_sql, limit=limit + 1, offset=offset)
    next_token = encode_page_token(offset + limit, fingerprint) if len(ids) > limit else None
    ids = ids[:limit]
    rows = trace_rows(connection, ids, include_bodies=include_bodies)
    return TracePage(rows=rows, next_page_token=next_token)


def trace_rows(
    connection: duckdb.DuckDBPyConnection, trace_ids: Sequence[str], *, include_bodies: bool = True
) -> list[dict[str, Any]]:
    """Full rows (summary, request, response, assessments) for these trace ids, in that order."""
    if not trace_ids:
        return []
    ids = list(trace_ids)
    summaries = traces_by_id(connection, ids)
    bodies = root_bodies_of(connection, summaries) if include_bodies else {}
    values = connection.execute(
        f"""WITH {CURRENT_ASSESSMENTS_CTE}
            SELECT trace_id, name, value FROM _current_assessments
            WHERE list_contains(?, trace_id) ORDER BY name""",
        [ids],
    ).fetchall()
    by_id = {row["trace_id"]: row for row in summaries}
    for trace_id, (request, response) in bodies.items():
        row = by_id.get(trace_id)
        if row is not None:
            row["request"] = decode_json_text(request)
            row["response"] = decode_json_text(response)
    for row in by_id.values():
        row.setdefault("request", None)
        row.setdefault("response", None)
        row["assessments"] = {}
    for trace_id, name, value in values:
        if trace_id in by_id:
            by_id[trace_id]["assessments"][name] = decode_json_text(value)
    return [by_id[trace_id] for trace_id in ids if trace_id in by_id]


def root_texts(spans: Sequence[dict[str, Any]]) -> tuple[Any, Any]:
    """A trace's ``(request, response)`` (JSON-decoded) from all its ``spans`` rows, chosen as
    :func:`root_bodies` chooses them: of the spans without a parent first, then by start time,
    the first whose input (output) is not NULL."""
    ordered = sorted(spans, key=lambda span: (span["parent_span_id"] is not None, span["start_time_unix_nano"]))
    request = next((span["input"] for span in ordered if span["input"] is not None), None)
    response = next((span["output"] for span in ordered if span["output"] is not None), None)
    return decode_json_text(request), decode_json_text(response)


def root_bodies(connection: duckdb.DuckDBPyConnection, trace_ids: Sequence[str]) -> dict[str, tuple[Any, Any]]:
    """``{trace_id: (input, output)}`` of each trace's root span (the earliest span without a
    parent, else the earliest span), as stored (JSON stays text)."""
    return root_bodies_of(connection, traces_by_id(connection, trace_ids)) if trace_ids else {}


def root_bodies_of(connection: duckdb.DuckDBPyConnection, summaries: Sequence[dict[str, Any]]) -> dict[str, tuple[Any, Any]]:
    """:func:`root_bodies` for rows of :func:`traces_by_id`: from the trace index where it
    holds them, else from the spans (bounded in time, see :func:`earliest_start_ns`)."""
    ids = [row["trace_id"] for row in summaries]
    first_row, last_row = connection.execute("SELECT * FROM trace_row_range(?)", [ids]).fetchone() or (None, None)
    bodies = {
        trace_id: (request, response)
        for trace_id, known, request, response in connection.execute(
            "SELECT * FROM trace_bodies(?, ?, ?)", [ids, first_row, last_row]
        ).fetchall()
        if known
    }
    unknown = [row for row in summaries if row["trace_id"] not in bodies]
    if unknown:
        earliest = earliest_start_ns(unknown)
        rows = connection.execute(
            f"""SELECT trace_id, arg_min(input, {_ROOT_FIRST}), arg_min(output, {_ROOT_FIRST})
                FROM {spans_since(connection, earliest)} WHERE list_contains(?, trace_id) AND start_time_unix_nano >= ?
                GROUP BY trace_id""",
            [[row["trace_id"] for row in unknown], earliest],
        ).fetchall()
        bodies.update((trace_id, (request, response)) for trace_id, request, response in rows)
    return bodies


def traces_by_id(connection: duckdb.DuckDBPyConnection, trace_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The ``traces`` rows of these ids (any order). On the collector's connections this
    reads the trace index in two steps (views.py): the ids' row range, then the rows within
    it, with the range passed as parameters so DuckDB skips the row groups outside it."""
    ids = list(trace_ids)
    # No match (or a connection without the index) gives NULLs: the second step then finds
    # nothing, or reads the Parquet ``traces`` view (which ignores the range).
    first_row, last_row = connection.execute("SELECT * FROM trace_row_range(?)", [ids]).fetchone() or (None, None)
    return _fetch_dicts(connection, "SELECT * FROM traces_in_rows(?, ?, ?)", [ids, first_row, last_row])


def trace_and_window(
    connection: duckdb.DuckDBPyConnection, trace_id: str
) -> tuple[dict[str, Any] | None, tuple[int, int] | None]:
    """The ``traces`` row of one trace (as :func:`traces_by_id` gives it) and the window its
    spans started in (as :func:`trace_windows`), in one read of the trace index instead of
    two; ``(None, None)`` for an unknown trace. Pass the window to :func:`one_trace_spans`."""
    first_row, last_row = connection.execute("SELECT * FROM trace_row_range(?)", [[trace_id]]).fetchone() or (None, None)
    rows = _fetch_dicts(connection, "SELECT * FROM traces_and_windows(?, ?, ?)", [[trace_id], first_row, last_row])
    if not rows:
        return None, None
    row = rows[0]
    latest = row.pop("_last_start")
    return row, (earliest_start_ns([row]), 2**63 - 1 if latest is None else latest)


def one_trace_spans(
    connection: duckdb.DuckDBPyConnection, trace_id: str, window: tuple[int, int] | None = None
) -> tuple[str, str, list[Any]]:
    """``(source, where, params)`` selecting the spans of one trace: ``SELECT ... FROM
    {source} WHERE {where}``. The condition adds the window the trace's spans started in
    (from the trace index), and the source lists only the span files whose start times meet
    that window and whose trace-id range holds the id (the connection's ``span_files`` table,
    storage/views.py), and of those the ones that hold the trace's lookup number
    (storage/file_traces.py): DuckDB then opens one file instead of every live one. Falls back to
    the ``spans`` view. ``window``: the trace's, when the caller read it already
    (:func:`trace_and_window`)."""
    if window is None:
        window = trace_windows(connection, [trace_id]).get(trace_id)
    if window is None:
        return "spans", "trace_id = ?", [trace_id]
    earliest, latest = window
    where, params = "trace_id = ? AND start_time_unix_nano BETWEEN ? AND ?", [trace_id, earliest, latest]
    try:
        files = connection.execute(
            "SELECT path FROM span_files WHERE coalesce(max_start >= ?, true) AND coalesce(min_start <= ?, true)"
            " AND coalesce(min_trace <= ?, true) AND coalesce(max_trace >= ?, true)",
            [earliest, latest, trace_id, trace_id],
        ).fetchall()
    except duckdb.CatalogException:  # a view that de-duplicates: read it
        return "spans", where, params
    if not files:
        return "spans", where, params
    paths = [row[0] for row in files]
    number = trace_number(trace_id)
    if number is not None:
        # Of those, the files that hold the trace's number (file_traces.py): one, usually.
        paths = [path for path in paths if may_hold(Path(path), number)] or paths[:1]
    return parquet_paths_sql(paths), where, params


def trace_windows(connection: duckdb.DuckDBPyConnection, trace_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """``{trace_id: (earliest, latest)}``: the window (ns) the traces' spans started in, as
    far as known (the latest is the maximum where the trace index does not know it). A read
    of their spans that adds it skips every file flushed before or after them."""
    ids = list(trace_ids)
    first_row, last_row = connection.execute("SELECT * FROM trace_row_range(?)", [ids]).fetchone() or (None, None)
    rows = connection.execute("SELECT * FROM trace_windows(?, ?, ?)", [ids, first_row, last_row]).fetchall()
    return {
        trace_id: (earliest_start_ns([{"start_time": start}]), 2**63 - 1 if latest is None else latest)
        for trace_id, start, latest in rows
    }


def spans_since(connection: duckdb.DuckDBPyConnection, earliest: int) -> str:
    """A source of the spans that started at ``earliest`` (ns) or later, and others: the files
    (the connection's ``span_files`` table) holding a span that started then or later, so the
    older files are not even opened; the ``spans`` view where that is not known."""
    try:
        files = connection.execute(
            "SELECT path FROM span_files WHERE coalesce(max_start >= ?, true)", [earliest]
        ).fetchall()
    except duckdb.CatalogException:  # a view that de-duplicates: read it
        return "spans"
    return parquet_paths_sql([row[0] for row in files]) if files else "spans"


def earliest_start_ns(summaries: Sequence[dict[str, Any]]) -> int:
    """A lower bound of the start times (ns) of every span of these ``traces`` rows.

    Reads of a few traces' spans add ``start_time_unix_nano >= bound``: Parquet row groups
    carry min/max statistics on the time columns, so files flushed before the earliest of the
    traces are skipped without being read. That is what keeps "the newest 50" and a recent
    trace fast on millions of spans (their spans sit in the few newest files), where a list of
    random trace ids alone cannot skip much. The trace's start is the minimum over its spans,
    in microseconds; one millisecond of margin covers the rounding."""
    starts = [row.get("start_time") for row in summaries]
    if not starts or any(start is None for start in starts):
        return -(2**63)
    return int(min(start.timestamp() for start in starts) * 1_000_000) * 1000 - 1_000_000


# Newest-first searches try the newest rows first (see ``_matching_trace_ids``): so many of
# the index's last rows, then more, then all.
_NEWEST_FIRST = "t.start_time DESC NULLS LAST"
_NEWEST_WINDOWS = (16_384, 262_144)


def _matching_trace_ids(
    connection: duckdb.DuckDBPyConnection,
    conditions: Sequence[Condition],
    order_sql: str,
    *,
    limit: int,
    offset: int,
) -> list[str]:
    """The ids of one page of matching traces, in order.

    Newest first (the default order) with a filter on assessments, the index's newest rows
    are tried first: with ``bound``
    the earliest start among its last rows, the page of the traces starting at or after
    ``bound`` is the page of all traces whenever it is full (every other trace starts before
    ``bound`` and so sorts after it), and reading only those skips the row groups that hold
    earlier starts alone. A page that is not full is asked again over more rows, then all. At
    10M spans a filter on an assessment read every row of the index (225 ms); its newest
    page is usually among the last few thousand.
    """
    where = " AND ".join(f"({condition.sql})" for condition in conditions) or "TRUE"
    params: list[Any] = [param for condition in conditions for param in condition.params]
    cte = f"WITH {CURRENT_ASSESSMENTS_CTE} " if any(c.needs_current_assessments for c in conditions) else ""
    sql = f"{cte}SELECT t.trace_id FROM traces AS t WHERE {{where}} ORDER BY {order_sql} LIMIT ? OFFSET ?"
    try:
        # Only for filters on assessments: their semi-join probed every row of the index.
        # Without one, DuckDB's top-N over the start times alone is cheaper than the extra
        # query for the bound (measured at 10M spans: 38 against 48 ms for the newest 50).
        if order_sql.startswith(_NEWEST_FIRST) and any(c.needs_current_assessments for c in conditions):
            for rows in _NEWEST_WINDOWS:
                if rows < 4 * (limit + offset):
                    continue  # too few rows to hope for a full page
                bound, whole = connection.execute("SELECT * FROM newest_start_bound(?)", [rows]).fetchone()
                if bound is None or whole:
                    break  # no index (or an empty one), or it has no more rows than that
                found = connection.execute(
                    sql.format(where=f"t.start_time >= ? AND ({where})"), [bound, *params, limit, offset]
                ).fetchall()
                if len(found) == limit:
                    return [row[0] for row in found]
        rows = connection.execute(sql.format(where=where), [*params, limit, offset]).fetchall()
    except duckdb.ConversionException as exc:
        raise FilterError(f"A value in the filter does not fit its field: {exc}") from None
    return [row[0] for row in rows]


def _fetch_dicts(connection: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = connection.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _checked_max_results(max_results: Any) -> int:
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise FilterError(f"max_results must be a positive integer (at most {MAX_RESULTS_LIMIT}); got {max_results!r}.")
    return min(max_results, MAX_RESULTS_LIMIT)
