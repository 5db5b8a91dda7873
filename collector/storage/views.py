"""The SQL views over the Parquet datasets: ``spans``, ``traces``, ``assessment_log``,
``assessments``.

The views are bound to the manifest's live file list at the time they are created, so one
connection reads one consistent snapshot; a new connection sees newer files. Files are
de-duplicated on their key when written, and the views de-duplicate across files too, so a
span or assessment that was received twice (a retried export) is one row.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from collector.storage.datasets import ASSESSMENTS, SPANS, DatasetLayout, parquet_list_sql
from collector.storage.manifest import Manifest, read_manifest

VIEW_NAMES = ("spans", "traces", "assessment_log", "assessments")

# Sorts the root span (no parent) first, then the earliest span: the trace's "root".
_ROOT_FIRST = "(parent_span_id IS NOT NULL, start_time_unix_nano)"

_TRACES_SQL = f"""
CREATE OR REPLACE VIEW traces AS
SELECT
    trace_id,
    arg_min(name, {_ROOT_FIRST}) AS name,
    arg_min(input_preview, {_ROOT_FIRST}) AS request_preview,
    arg_min(output_preview, {_ROOT_FIRST}) AS response_preview,
    min(start_time) AS start_time,
    max(end_time) AS end_time,
    (max(end_time_unix_nano) - min(start_time_unix_nano)) / 1e6 AS duration_ms,
    CASE
        WHEN bool_or(status_code = 'ERROR') THEN 'ERROR'
        WHEN bool_or(status_code = 'OK') THEN 'OK'
        ELSE 'UNSET'
    END AS status,
    count(*) AS span_count,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(total_tokens) AS total_tokens,
    max(session_id) AS session_id,
    max(user_id) AS user_id,
    arg_min(experiment, {_ROOT_FIRST}) AS experiment,
    arg_min(service_name, {_ROOT_FIRST}) AS service_name
FROM spans
GROUP BY trace_id
"""

_ASSESSMENTS_SQL = """
CREATE OR REPLACE VIEW assessments AS
SELECT *
FROM assessment_log AS a
WHERE a.action IN ('create', 'override')
  AND NOT EXISTS (
    SELECT 1 FROM assessment_log AS b
    WHERE b.overrides = a.assessment_id AND b.action IN ('override', 'delete')
  )
"""


def create_views(
    connection: duckdb.DuckDBPyConnection, data_dir: Path, manifest: Manifest
) -> None:
    """Create (or replace) the four views on ``connection`` over the manifest's live files."""
    _create_dataset_view(connection, "spans", SPANS, data_dir, manifest)
    _create_dataset_view(connection, "assessment_log", ASSESSMENTS, data_dir, manifest)
    connection.execute(_TRACES_SQL)
    connection.execute(_ASSESSMENTS_SQL)


def connect(data_dir: str | Path) -> duckdb.DuckDBPyConnection:
    """Open a new in-memory DuckDB connection with the views over a data directory.

    Works whether or not a collector is running on that directory: it reads only the manifest
    and the Parquet files, never the collector's catalog database.
    """
    directory = Path(data_dir).resolve()
    if not directory.is_dir():
        raise FileNotFoundError(
            f"There is no otel-feedback data directory at {directory}. Pass the directory the "
            "collector writes to (--data or OTEL_FEEDBACK_DATA), or start one with "
            f"`otel-feedback serve --data {directory}`."
        )
    connection = open_read_connection()
    create_views(connection, directory, read_manifest(directory))
    return connection


def open_read_connection() -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection set up for reading the datasets."""
    connection = duckdb.connect()
    # Footers are read once per connection, not once per query: lookups touch many files.
    connection.execute("SET parquet_metadata_cache = true")
    return connection


def _create_dataset_view(
    connection: duckdb.DuckDBPyConnection,
    view: str,
    layout: DatasetLayout,
    data_dir: Path,
    manifest: Manifest,
) -> None:
    files = [data_file.path for data_file in manifest.files[layout.name]]
    if not files:
        empty = f"_empty_{layout.name}"
        connection.register(empty, layout.schema.empty_table())
        connection.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {empty}")
        return
    runs = {data_file.run for data_file in manifest.files[layout.name]}
    if len(runs) == 1:  # one flush or one merge: unique by construction
        select = f"SELECT * FROM {parquet_list_sql(data_dir, files)}"
    else:
        select = layout.dedup_sql(parquet_list_sql(data_dir, files, filename=True))
    connection.execute(f"CREATE OR REPLACE VIEW {view} AS {select}")
