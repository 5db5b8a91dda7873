"""The SQL views over the Parquet datasets: ``spans``, ``traces``, ``assessment_log``,
``assessments``.

The views are bound to the manifest's live file list at the time they are created, so one
connection reads one consistent snapshot; a new connection sees newer files. Files are
de-duplicated on their key when written, and the views de-duplicate across files too, so a
span or assessment that was received twice (a retried export) is one row. A live file whose
Parquet footer cannot be read is left out of the views, with a log line (readable_files.py),
so the rest stays queryable.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from otel_feedback_collector.storage.datasets import (
    ASSESSMENTS,
    SPANS,
    TRACE_SUMMARIES,
    DatasetLayout,
    parquet_list_sql,
)
from otel_feedback_collector.storage.manifest import Manifest, read_manifest
from otel_feedback_collector.storage.file_ranges import file_ranges
from otel_feedback_collector.storage.readable_files import readable_manifest
from otel_feedback_collector.storage.cost_inputs import COST_INPUTS_SQL_TYPE
from otel_feedback_collector.storage.current_assessments import current_values_sql, live_assessments_sql
from otel_feedback_collector.storage.trace_index import ASSESSMENT_TABLE, CURRENT_TABLE, trace_number_sql
from otel_feedback_collector.storage.trace_index import traces_sql as indexed_traces_sql
from otel_feedback_collector.storage.trace_index import TABLE as TRACE_TABLE
from otel_feedback_collector.storage.trace_summaries import (
    spans_to_summaries_sql,
    traces_from_summaries_sql,
    traces_from_unique_summaries_sql,
)

VIEW_NAMES = ("spans", "traces", "assessment_log", "assessments", "current_assessments")
# Besides the views, each connection has two table macros for reading the ``traces`` rows of a
# list of trace ids the fast way for its kind (see ``search.traces_by_id``).



def create_views(
    connection: duckdb.DuckDBPyConnection,
    data_dir: Path,
    manifest: Manifest,
    *,
    indexed: bool = False,
) -> list[Path]:
    """Create (or replace) the four views on ``connection`` over the manifest's live files.

    ``indexed``: ``connection`` is a cursor of the trace index database (trace_index.py);
    ``traces`` and ``assessment_log`` then read its tables instead of Parquet. The views
    are temporary (this connection's own, in memory): a read never writes to a database file.
    Returns the files the views read (the live files whose footer could be read)."""
    readable = readable_manifest(data_dir, manifest)
    if indexed and readable.files != manifest.files:
        # The index describes every live file; with one unreadable, read the Parquet
        # summaries of the readable ones instead (slower, but without the lost rows).
        indexed = False
    manifest = readable
    _create_dataset_view(connection, "spans", SPANS, data_dir, manifest)
    if indexed:
        connection.execute(f"CREATE OR REPLACE TEMP VIEW assessment_log AS SELECT * FROM {ASSESSMENT_TABLE}")
        traces = indexed_traces_sql(TRACE_TABLE)
        # The rows of a list of ids, in two steps (search.py's ``trace_rows``): their row
        # range, found on the lookup number alone; then the full rows within that range only
        # (the index is in arrival order, so the newest traces sit together at its end).
        numbers = f"list_transform(ids, lambda id: {trace_number_sql('id')})"
        row_range = (
            f"SELECT min(rowid) AS first_row, max(rowid) AS last_row FROM {TRACE_TABLE} "
            f"WHERE list_contains({numbers}, trace_number)"
        )
        in_range = (
            f"(SELECT * FROM {TRACE_TABLE} WHERE rowid BETWEEN first_row AND last_row "
            "AND list_contains(ids, trace_id))"
        )
        in_rows = indexed_traces_sql(in_range)
        # The root's texts apart: the wide columns cost most of a row's read.
        bodies = (
            "SELECT trace_id, (root_start IS NOT NULL AND root_request IS NOT NULL AND root_response IS NOT NULL "
            f"AND last_start IS NOT NULL) AS known, root_request, root_response FROM {in_range}"
        )
        # Only the start window (narrow columns: a full row decompresses the wide text ones).
        windows = (
            f"SELECT trace_id, stored_start_time AS start_time, last_start FROM {TRACE_TABLE} "
            "WHERE rowid BETWEEN first_row AND last_row AND list_contains(ids, trace_id)"
        )
        # The traces' cost inputs where known (cost_inputs.py): not the spans' attributes.
        costs = (
            f"SELECT trace_id, cost_inputs FROM {TRACE_TABLE} WHERE rowid BETWEEN first_row AND last_row "
            "AND list_contains(ids, trace_id) AND cost_inputs IS NOT NULL"
        )
        # A trace page needs both the rows and the windows: one read instead of two.
        rows_and_windows = indexed_traces_sql(in_range, extra="last_start AS _last_start")
        # The earliest start among the table's last ``n`` rows (the newest, in arrival order),
        # and whether those are all its rows: a bound that lets a newest-first search read
        # only the row groups holding later starts (search.py ``_matching_trace_ids``).
        newest_bound = (
            f"SELECT min(stored_start_time) AS bound, count(*) < n AS whole FROM {TRACE_TABLE} "
            f"WHERE rowid > (SELECT max(rowid) FROM {TRACE_TABLE}) - n"
        )
    else:
        _create_dataset_view(connection, "assessment_log", ASSESSMENTS, data_dir, manifest)
        traces = traces_sql(data_dir, manifest)
        windows = "SELECT trace_id, start_time, NULL::BIGINT AS last_start FROM traces WHERE list_contains(ids, trace_id)"
        row_range = "SELECT NULL::BIGINT AS first_row, NULL::BIGINT AS last_row"
        in_rows = "SELECT * FROM traces WHERE list_contains(ids, trace_id)"
        bodies = "SELECT NULL::VARCHAR AS trace_id, false AS known, NULL::VARCHAR, NULL::VARCHAR WHERE false"
        rows_and_windows = "SELECT *, NULL::BIGINT AS _last_start FROM traces WHERE list_contains(ids, trace_id)"
        newest_bound = "SELECT NULL::TIMESTAMPTZ AS bound, true AS whole WHERE n IS NOT NULL"
        costs = f"SELECT NULL::VARCHAR AS trace_id, NULL::{COST_INPUTS_SQL_TYPE} AS cost_inputs WHERE false"
    connection.execute(f"CREATE OR REPLACE TEMP VIEW traces AS {traces}")
    connection.execute(f"CREATE OR REPLACE TEMP MACRO trace_row_range(ids) AS TABLE {row_range}")
    connection.execute(f"CREATE OR REPLACE TEMP MACRO traces_in_rows(ids, first_row, last_row) AS TABLE {in_rows}")
    connection.execute(f"CREATE OR REPLACE TEMP MACRO trace_windows(ids, first_row, last_row) AS TABLE {windows}")
    connection.execute(f"CREATE OR REPLACE TEMP MACRO trace_bodies(ids, first_row, last_row) AS TABLE {bodies}")
    connection.execute(
        f"CREATE OR REPLACE TEMP MACRO traces_and_windows(ids, first_row, last_row) AS TABLE {rows_and_windows}"
    )
    connection.execute(f"CREATE OR REPLACE TEMP MACRO newest_start_bound(n) AS TABLE {newest_bound}")
    connection.execute(f"CREATE OR REPLACE TEMP MACRO trace_cost_inputs(ids, first_row, last_row) AS TABLE {costs}")
    connection.execute(f"CREATE OR REPLACE TEMP VIEW assessments AS {live_assessments_sql('assessment_log')}")
    # Per trace and name, the newest value in force: a table of the index, else computed.
    current = f"SELECT * FROM {CURRENT_TABLE}" if indexed else current_values_sql("assessments")
    connection.execute(f"CREATE OR REPLACE TEMP VIEW current_assessments AS {current}")
    return [data_dir / f.path for entries in manifest.files.values() for f in entries]


def connect(data_dir: str | Path) -> duckdb.DuckDBPyConnection:
    """Open a new in-memory DuckDB connection with the views over a data directory.

    Works whether or not a collector is running on that directory: it reads only the manifest
    and the Parquet files, never the collector's catalog database.
    """
    directory = data_directory(data_dir)
    connection = open_read_connection()
    create_views(connection, directory, read_manifest(directory))
    return connection


def data_directory(data_dir: str | Path) -> Path:
    """``data_dir`` resolved; ``FileNotFoundError`` (saying what to pass) when it is missing."""
    directory = Path(data_dir).resolve()
    if not directory.is_dir():
        raise FileNotFoundError(
            f"There is no otel-feedback data directory at {directory}. Pass the directory the "
            "collector writes to (--data or OTEL_FEEDBACK_DATA), or start one with "
            f"`otel-feedback serve --data {directory}`."
        )
    return directory


def open_read_connection(
    *, memory_limit: str | None = None, spill_dir: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection set up for reading the datasets; with
    ``memory_limit``, one that holds at most that much and spills to ``spill_dir`` beyond it
    (DuckDB's default allows most of the machine's memory)."""
    config: dict[str, str] = {}
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    if spill_dir is not None:
        spill_dir.mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = str(spill_dir)
    connection = duckdb.connect(config=config)
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
        connection.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {empty}")
        return
    runs = {data_file.run for data_file in manifest.files[layout.name]}
    if len(runs) == 1 or (layout is SPANS and manifest.disjoint_spans):
        # One flush or one merge, or runs the writer kept disjoint: unique by construction.
        select = f"SELECT * FROM {parquet_list_sql(data_dir, files)}"
        if layout is SPANS:
            _create_span_files_table(connection, data_dir, files)
    else:
        select = layout.dedup_sql(parquet_list_sql(data_dir, files, filename=True))
    connection.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {select}")


def _create_span_files_table(connection: duckdb.DuckDBPyConnection, data_dir: Path, files: list[str]) -> None:
    """``span_files(path, min_start, max_start, min_trace, max_trace)``: the span view's files,
    the span start times and the trace ids each holds (file_ranges.py), for reads of one trace
    to open only its files. Only made when the view is a plain union of the files (no
    de-duplication to bypass)."""
    rows = []
    for path in files:
        ranges = file_ranges(data_dir / path)
        rows.append((str(data_dir / path), *(ranges.start or (None, None)), *(ranges.trace_id or (None, None))))
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE span_files "
        "(path VARCHAR, min_start BIGINT, max_start BIGINT, min_trace VARCHAR, max_trace VARCHAR)"
    )
    connection.executemany("INSERT INTO span_files VALUES (?, ?, ?, ?, ?)", rows)


def traces_sql(data_dir: Path, manifest: Manifest) -> str:
    """The query behind the ``traces`` view for a manifest's live files.

    It reads the trace summaries (one small row per trace and run) instead of every span;
    trace_summaries.py explains how partial summaries combine. Span files without summaries
    (written by an older version and not yet opened by a collector) fall back to summarizing
    the spans on each query, which gives the same rows, slower.
    """
    span_files = manifest.files[SPANS.name]
    summary_files = manifest.files[TRACE_SUMMARIES.name]
    if not span_files or {f.run for f in span_files} - manifest.runs_with_summaries():
        return traces_from_unique_summaries_sql(f"({spans_to_summaries_sql('spans')})")
    summaries = parquet_list_sql(data_dir, [f.path for f in summary_files])
    if len({f.run for f in summary_files}) == 1:  # one run: one partial per trace
        return traces_from_unique_summaries_sql(summaries)
    span_source = parquet_list_sql(data_dir, [f.path for f in span_files], filename=True)
    deduplicated = (
        f"(SELECT * EXCLUDE (filename) FROM {span_source} WHERE trace_id IN {{trace_ids}} "
        "QUALIFY row_number() OVER (PARTITION BY trace_id, span_id ORDER BY filename) = 1)"
    )
    return traces_from_summaries_sql(summaries, deduplicated_spans_of=deduplicated)
