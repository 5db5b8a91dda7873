"""A data directory's Parquet files, read for the SDK: ``search_traces(data_dir=...)``, ``evaluate``.

The SDK never imports this package: it finds this module through the ``otel_feedback.data_files``
entry point (``pyproject.toml``), the way the OpenTelemetry SDK finds exporters, and in an
SDK-only install says which extra to install. Everything here reads the files through the
storage views, so it works with the collector stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa

from otel_feedback_collector.query import connect_for_user_sql, find_traces, run_readonly_select
from otel_feedback_collector.storage.several_dirs import DataDirs, connect_several

_PAGE_SIZE = 1000


def connect(data_dir: DataDirs) -> duckdb.DuckDBPyConnection:
    """A new DuckDB connection with the views (``spans``, ``traces``, ``assessments``,
    ``assessment_log``) over the data directory's live files (or several directories' read as
    one, storage/several_dirs.py); the caller closes it."""
    return connect_several(data_dir)


def find_trace_rows(
    data_dir: DataDirs,
    *,
    max_results: int,
    filter: str | None = None,  # noqa: A002 - the search language's name
    order_by: str | Sequence[str] | None = None,
    experiment: str | None = None,
) -> list[dict[str, Any]]:
    """Up to ``max_results`` trace rows matching the search, as ``otel_feedback.tables`` reads them."""
    connection = connect(data_dir)
    try:
        rows: list[dict[str, Any]] = []
        token: str | None = None
        while len(rows) < max_results:
            page = find_traces(
                connection, max_results=min(_PAGE_SIZE, max_results - len(rows)), page_token=token,
                filter=filter, order_by=order_by, experiment=experiment,
            )
            rows.extend(page.rows)
            token = page.next_page_token
            if token is None:
                break
        return rows
    finally:
        connection.close()


def run_select(data_dir: DataDirs, sql: str) -> pa.Table:
    """Run one read-only SELECT over the views; it can read the views' files and nothing else."""
    connection = connect_for_user_sql(data_dir)
    try:
        return run_readonly_select(connection, sql)
    finally:
        connection.close()
