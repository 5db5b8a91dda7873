"""The two Parquet datasets and how one of their files is written.

Every file holds rows unique on the dataset's key, sorted by its sort columns (trace id first,
so each row group covers a narrow trace-id range and a lookup by trace id skips the rest through
row-group statistics). It is written under a hidden temporary name, fsynced and renamed, so a
reader never sees a half-written file. Flushes write with pyarrow (the rows are already in
memory and de-duplicated) and rename at once; compaction's merges leave their outputs under
the hidden name (``pending_file``) for the swap (swap.py) to rename once the inputs left the
folder, so a glob never sees a merge and its inputs together.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from otel_feedback_collector.storage.file_ranges import file_ranges
from otel_feedback_collector.storage.manifest import DataFile
from otel_feedback_collector.storage.schema import ASSESSMENT_SCHEMA, SPAN_SCHEMA
from otel_feedback_collector.storage.sorted_merge import merge_sorted_files
from otel_feedback_collector.storage.trace_summaries import (
    SUMMARIZED_SPAN_COLUMNS,
    TRACE_SUMMARY_SCHEMA,
    SummaryCalculator,
)
from otel_feedback_core.files import fsync_directory, fsync_file, publish_file

# Span rows a merge summarizes per summary query (see ``_merge_span_sources``); the narrow
# columns of 16k GenAI spans are ~8 MB.
_SUMMARY_BATCH_ROWS = 16384


@dataclass(frozen=True)
class DatasetLayout:
    """Where a dataset lives and how its rows are keyed and ordered."""

    name: str
    schema: pa.Schema
    key_columns: tuple[str, ...]
    sort_columns: tuple[str, ...]
    # Columns written without a dictionary: texts nearly always unique (a span's input,
    # output, attributes), whose dictionary only grows until Parquet gives up on it, and
    # which a reader then holds a dictionary page of per column chunk (in a merge reading
    # 16 files, ~40 MB). Every other column keeps dictionary encoding.
    # They are written without min/max statistics too: nothing is found by a text's bounds,
    # and each bound is a whole text (up to 1.5 KB of a GenAI span's, per column and row group)
    # in the footer every reader parses and DuckDB caches.
    plain_columns: tuple[str, ...] = ()

    @property
    def dictionary_columns(self) -> list[str]:
        """The columns Parquet files of this dataset are written with dictionary encoding."""
        return [name for name in self.schema.names if name not in self.plain_columns]

    @property
    def statistics_columns(self) -> list[str]:
        """The columns Parquet files of this dataset are written with min/max statistics."""
        return self.dictionary_columns

    def dedup_sql(self, source: str) -> str:
        """SQL selecting one row per key from ``source``, a ``read_parquet(..., filename =
        true)`` call over files that are each unique on the key. Only the key columns are
        aggregated (cheap); a key found in several files keeps the row of one of them."""
        keys = ", ".join(self.key_columns)
        return f"""
            WITH duplicates AS (
                SELECT {keys}, min(filename) AS keep_file FROM {source}
                GROUP BY {keys} HAVING count(*) > 1
            )
            SELECT rows.* EXCLUDE (filename)
            FROM {source} AS rows LEFT JOIN duplicates USING ({keys})
            WHERE duplicates.keep_file IS NULL OR duplicates.keep_file = rows.filename
        """


SPANS = DatasetLayout(
    name="spans",
    schema=SPAN_SCHEMA,
    key_columns=("trace_id", "span_id"),
    sort_columns=("trace_id", "start_time_unix_nano", "span_id"),
    plain_columns=("input", "output", "input_preview", "output_preview", "attributes", "events", "links"),
)
ASSESSMENTS = DatasetLayout(
    name="assessments",
    schema=ASSESSMENT_SCHEMA,
    key_columns=("assessment_id",),
    sort_columns=("trace_id", "created_time_unix_nano", "assessment_id"),
)
LAYOUTS = {layout.name: layout for layout in (SPANS, ASSESSMENTS)}
# One partial summary per trace per run (see trace_summaries.py); a run's summary files
# describe exactly the span files of that run, and are replaced together with them.
TRACE_SUMMARIES = DatasetLayout(
    name="trace_summaries",
    schema=TRACE_SUMMARY_SCHEMA,
    key_columns=("trace_id",),
    sort_columns=("trace_id",),
)


def data_file_name(layout: DatasetLayout, *, level: int, number: int) -> str:
    """Return a file's path relative to the data directory.

    For example ``spans/spans-L0-00000042.parquet``.
    """
    return f"{layout.name}/{layout.name}-L{level}-{number:08d}.parquet"


def parquet_list_sql(data_dir: Path, relative_paths: list[str], *, filename: bool = False) -> str:
    """Return a DuckDB ``read_parquet`` call over the given files."""
    return parquet_paths_sql([str(data_dir / path) for path in relative_paths], filename=filename)


def parquet_paths_sql(paths: list[str], *, filename: bool = False) -> str:
    """Return a DuckDB ``read_parquet`` call over files given by full path."""
    quoted = ", ".join(_sql_string(path) for path in paths)
    extra = ", filename = true" if filename else ""
    return f"read_parquet([{quoted}]{extra})"


def pending_file(data_dir: Path, relative_path: str) -> Path:
    """Where a merge's output waits, fsynced, until the swap renames it to ``relative_path``."""
    return _temporary_path(data_dir / relative_path)


def write_table_file(
    table: pa.Table,
    layout: DatasetLayout,
    *,
    data_dir: Path,
    relative_path: str,
    level: int,
    run: int,
    row_group_size: int,
    compression: str = "zstd",
) -> DataFile | None:
    """Write already de-duplicated rows, sorted, to a new Parquet file atomically (the flush
    path: pyarrow, no query engine). Returns None for an empty table."""
    if table.num_rows == 0:
        return None
    ordered = table.sort_by([(column, "ascending") for column in layout.sort_columns])
    final = data_dir / relative_path
    temporary = _temporary_path(final)
    try:
        pq.write_table(
            ordered, temporary, compression=compression, row_group_size=row_group_size,
            write_statistics=layout.statistics_columns, use_dictionary=layout.dictionary_columns,
        )
        publish_file(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)  # a disk left full by a half-written file stays full
        raise
    return DataFile(path=relative_path, rows=ordered.num_rows, level=level, run=run)


def merge_data_files(
    connection: duckdb.DuckDBPyConnection,
    layout: DatasetLayout,
    *,
    inputs: list[str],
    data_dir: Path,
    relative_paths: Callable[[], str],
    level: int,
    run: int,
    row_group_size: int,
    partition_bytes: int,
) -> list[DataFile]:
    """Merge live files into sorted files covering disjoint trace-id ranges (compaction).

    The inputs are split into about ``total size / partition_bytes`` trace-id ranges (trace
    ids are random, so ranges of equal width hold similar row counts); each range is sorted
    by DuckDB on its own, which keeps memory bounded, and becomes one file whose row groups a
    lookup by trace id prunes through statistics. A key found in several inputs keeps the row
    of one file only; each input is already unique on its key, so only keys seen twice need
    the (small) join. ``relative_paths`` hands out a new file name per output file. The
    outputs are left fsynced at their ``pending_file`` for the swap to rename.
    """
    total_bytes = sum((data_dir / path).stat().st_size for path in inputs)
    partitions = max(1, -(-total_bytes // partition_bytes))
    order = ", ".join(layout.sort_columns)
    source = parquet_list_sql(data_dir, inputs, filename=True)
    merged: list[DataFile] = []
    temporaries: list[Path] = []
    try:
        for index in range(partitions):
            low = _trace_id_bound(index, partitions)
            high = _trace_id_bound(index + 1, partitions)
            in_range = f"trace_id >= '{low}'" + (f" AND trace_id < '{high}'" if high else "")
            part = f"(SELECT * FROM {source} WHERE {in_range})"
            query = f"{layout.dedup_sql(part)} ORDER BY {order}"
            relative_path = relative_paths()
            final = data_dir / relative_path
            temporary = _temporary_path(final)
            temporaries.append(temporary)
            result = connection.execute(
                f"COPY ({query}) TO {_sql_string(str(temporary))} "
                f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {int(row_group_size)})"
            ).fetchone()
            count = int(result[0]) if result else 0
            if count == 0:
                temporary.unlink(missing_ok=True)
                continue
            fsync_file(temporary)
            merged.append(DataFile(path=relative_path, rows=count, level=level, run=run))
    except BaseException:
        # Nothing of a failed merge may stay behind: its outputs were never published.
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)
        raise
    return merged


def sorted_streams(data_dir: Path, files: Sequence[DataFile]) -> list[list[str]]:
    """The files to merge as streams (see sorted_merge.py): the files of one run, in trace-id
    order, when their trace-id ranges (from the footers) are disjoint, as compaction writes
    them; else (a flush's chunk files, unknown ranges) each file alone."""
    runs: dict[int, list[DataFile]] = {}
    for data_file in files:
        runs.setdefault(data_file.run, []).append(data_file)
    streams: list[list[str]] = []
    for members in runs.values():
        ranged = [(file_ranges(data_dir / f.path).trace_id, f.path) for f in members]
        known = sorted((found, path) for found, path in ranged if found is not None)
        if len(members) > 1 and len(known) == len(members) and all(
            earlier[0][1] < later[0][0] for earlier, later in zip(known, known[1:])
        ):
            streams.append([path for _, path in known])
        else:
            streams.extend([path] for _, path in ranged)
    return streams


def merge_span_files(
    summaries: SummaryCalculator,
    *,
    inputs: Sequence[Sequence[str]],
    data_dir: Path,
    relative_paths: Callable[[DatasetLayout], str],
    level: int,
    run: int,
    row_group_size: int,
    row_group_bytes: int,
    file_bytes: int,
    input_budget_bytes: int,
    scratch_dir: Path,
    max_fan_in: int = 16,
    step_guard: AbstractContextManager[Any] | None = None,
    summary_batch_rows: int = _SUMMARY_BATCH_ROWS,
) -> tuple[list[DataFile], DataFile | None]:
    """Merge live span files (a streaming k-way merge: memory stays bounded) into sorted files
    covering disjoint trace-id ranges, and write the run's trace summaries alongside.

    ``inputs`` are streams (``sorted_streams``). Each open stream costs read buffers, so at
    most ``max_fan_in`` streams are merged at once: more are first merged in groups into
    temporary files in ``scratch_dir``.
    Returns the new span files and the new summary file, left fsynced at their
    ``pending_file`` for the swap to rename. ``relative_paths(layout)`` hands out a new file
    name in that dataset. Nothing is left behind when it fails.
    """
    scratch: list[Path] = []
    try:
        sources: list[list[Path]] = [[data_dir / path for path in stream] for stream in inputs]
        while len(sources) > max_fan_in:
            grouped = []
            for start in range(0, len(sources), max_fan_in):
                target = scratch_dir / f".merge-{run}-{len(scratch)}.parquet"
                scratch.append(target)
                _merge_spans_into_one_file(
                    sources[start : start + max_fan_in],
                    target,
                    input_budget_bytes=input_budget_bytes,
                    row_group_bytes=row_group_bytes,
                    step_guard=step_guard,
                )
                grouped.append([target])
            sources = grouped
        return _merge_span_sources(
            summaries,
            sources=sources,
            data_dir=data_dir,
            relative_paths=relative_paths,
            level=level,
            run=run,
            row_group_size=row_group_size,
            row_group_bytes=row_group_bytes,
            file_bytes=file_bytes,
            input_budget_bytes=input_budget_bytes,
            step_guard=step_guard,
            summary_batch_rows=summary_batch_rows,
        )
    finally:
        for path in scratch:
            path.unlink(missing_ok=True)


def _merge_spans_into_one_file(
    sources: list[list[Path]],
    target: Path,
    *,
    input_budget_bytes: int,
    row_group_bytes: int,
    step_guard: AbstractContextManager[Any] | None,
) -> None:
    merge_sorted_files(
        sources,
        schema=SPANS.schema,
        dictionary_columns=SPANS.dictionary_columns,
        key_columns=SPANS.key_columns,
        sort_columns=SPANS.sort_columns,
        open_output=lambda: target,
        close_output=lambda path, rows: None,
        on_row_group=lambda rows: None,
        row_group_rows=1 << 20,
        row_group_bytes=row_group_bytes,
        file_bytes=1 << 62,
        input_budget_bytes=input_budget_bytes,
        step_guard=step_guard,
    )


def _merge_span_sources(
    summaries: SummaryCalculator,
    *,
    sources: list[list[Path]],
    data_dir: Path,
    relative_paths: Callable[[DatasetLayout], str],
    level: int,
    run: int,
    row_group_size: int,
    row_group_bytes: int,
    file_bytes: int,
    input_budget_bytes: int,
    step_guard: AbstractContextManager[Any] | None,
    summary_batch_rows: int,
) -> tuple[list[DataFile], DataFile | None]:
    merged: list[DataFile] = []
    names: dict[Path, str] = {}
    summary_path = relative_paths(TRACE_SUMMARIES)
    summary_temporary = _temporary_path(data_dir / summary_path)
    summary_writer = pq.ParquetWriter(
        summary_temporary, TRACE_SUMMARY_SCHEMA, compression="zstd", write_statistics=True
    )
    summary_rows = 0

    def open_output() -> Path:
        relative_path = relative_paths(SPANS)
        temporary = _temporary_path(data_dir / relative_path)
        names[temporary] = relative_path
        return temporary

    def close_output(temporary: Path, rows: int) -> None:
        relative_path = names.pop(temporary)
        fsync_file(temporary)
        merged.append(DataFile(path=relative_path, rows=rows, level=level, run=run))

    # Row groups (whole traces, in trace-id order) are summarized a few at a time: one
    # summary query costs ~10 ms however few its rows (planning), which was ~4 us per span
    # when each 4 MB row group (~3,500 GenAI spans) had its own. Only the columns the summary
    # reads are kept meanwhile.
    waiting: list[pa.Table] = []
    waiting_rows = 0

    def write_summaries() -> None:
        nonlocal summary_rows, waiting_rows
        if not waiting:
            return
        # In trace-id order, as the summary file must be (row-group statistics on trace_id):
        # the batches come in that order, the rows of one batch in whatever order the
        # summary's Arrow pass or SQL gives them.
        partial = summaries.summarize_spans(pa.concat_tables(waiting)).sort_by("trace_id")
        waiting.clear()
        waiting_rows = 0
        summary_writer.write_table(partial, row_group_size=max(1, partial.num_rows))
        summary_rows += partial.num_rows

    def summarize(rows: pa.Table) -> None:
        nonlocal waiting_rows
        waiting.append(rows.select(list(SUMMARIZED_SPAN_COLUMNS)))
        waiting_rows += rows.num_rows
        if waiting_rows >= summary_batch_rows:
            write_summaries()

    try:
        merge_sorted_files(
            sources,
            schema=SPANS.schema,
            dictionary_columns=SPANS.dictionary_columns,
            statistics_columns=SPANS.statistics_columns,
            key_columns=SPANS.key_columns,
            sort_columns=SPANS.sort_columns,
            open_output=open_output,
            close_output=close_output,
            on_row_group=summarize,
            row_group_rows=row_group_size,
            row_group_bytes=row_group_bytes,
            file_bytes=file_bytes,
            input_budget_bytes=input_budget_bytes,
            step_guard=step_guard,
        )
        write_summaries()
        summary_writer.close()
        if not summary_rows:
            summary_temporary.unlink(missing_ok=True)
            return merged, None
        fsync_file(summary_temporary)
    except BaseException:
        summary_writer.close()
        summary_temporary.unlink(missing_ok=True)
        for temporary in [*names, *(pending_file(data_dir, f.path) for f in merged)]:
            temporary.unlink(missing_ok=True)
        raise
    return merged, DataFile(path=summary_path, rows=summary_rows, level=level, run=run)


def _trace_id_bound(index: int, partitions: int) -> str:
    """The lowest trace id of range ``index`` of ``partitions`` ('' past the last range)."""
    if index == 0:
        return ""
    if index >= partitions:
        return ""
    return format(index * 16**8 // partitions, "08x")


def _temporary_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.tmp")


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
