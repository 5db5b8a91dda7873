"""Compaction of span files as a streaming k-way merge: memory bounded, whatever the data size.

Every span file is sorted by trace id, so merging them needs no sort of the whole: each input
is read in small batches, and at each step every row whose trace id is below the *frontier*
(the smallest "last trace id read so far" among the inputs that still have rows) is final — no
input can bring another row of those traces. Those rows are de-duplicated on the key, sorted
and appended to the output; the inputs that ran dry are refilled. A step therefore always holds
whole traces, which lets the caller summarize each trace once, and lets output files and row
groups end between traces, so the files cover disjoint trace-id ranges.

An input is a *stream*: one file, or several files of one merge run read one after the other
(a run's files cover disjoint trace-id ranges, in the order they were written), so merging
runs of many files costs read buffers per run, not per file.

Memory: up to one and a half small batches per input (``input_budget_bytes`` shared among
them, in decoded bytes measured on a sample), plus one output row group (at most
``row_group_bytes`` uncompressed; a row group of wide spans gets fewer rows). Parquet pages are
read through a small buffer, not whole column chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

_READ_BUFFER_BYTES = 64 * 1024
_MIN_BATCH_ROWS = 64


@dataclass
class _Input:
    """One input file being read batch by batch."""

    batches: Iterator[pa.RecordBatch]
    buffer: pa.Table
    schema: pa.Schema
    low_water: int
    exhausted: bool = False

    def refill(self) -> None:
        """Append the next batch to the buffer (or mark the input exhausted)."""
        try:
            batch = next(self.batches)
        except StopIteration:
            self.exhausted = True
            return
        # Cast: files written by other engines may differ in nullability or metadata.
        rows = pa.Table.from_batches([batch]).cast(self.schema)
        self.buffer = pa.concat_tables([self.buffer, rows]) if self.buffer.num_rows else rows


def decoded_row_bytes(paths: list[Path], *, sample_rows: int = 256) -> float:
    """Bytes per row once read into Arrow, the widest of the files.

    A column written without a dictionary decodes to about its uncompressed Parquet size
    (length-prefixed values become offsets and values), so the footer gives it. A dictionary-
    encoded column can decode to far more than its Parquet size, so those columns are read
    for a small sample of rows. Sampling the wide text columns too decoded the first page of
    each (~1 MB apiece): 40% of a flushed file's decoding, thrown away, in every merge."""
    widest = 1.0
    for path in paths:
        parquet = pq.ParquetFile(path, buffer_size=_READ_BUFFER_BYTES, pre_buffer=False)
        metadata = parquet.metadata
        if not metadata.num_rows:
            continue
        plain_bytes = 0
        sampled: set[str] = set()
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            for index in range(row_group.num_columns):
                chunk = row_group.column(index)
                if chunk.has_dictionary_page or "." in chunk.path_in_schema:
                    sampled.add(chunk.path_in_schema.split(".")[0])
                else:
                    plain_bytes += chunk.total_uncompressed_size
        row_bytes = plain_bytes / metadata.num_rows
        if sampled:
            columns = [name for name in parquet.schema_arrow.names if name in sampled]
            for batch in parquet.iter_batches(batch_size=sample_rows, columns=columns, use_threads=False):
                if batch.num_rows:
                    row_bytes += batch.nbytes / batch.num_rows
                break
        widest = max(widest, row_bytes)
    return widest


def _stream_batches(paths: Sequence[Path], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The batches of ``paths`` read one file after the other (each opened when reached)."""
    for path in paths:
        parquet = pq.ParquetFile(path, buffer_size=_READ_BUFFER_BYTES, pre_buffer=False)
        yield from parquet.iter_batches(batch_size=batch_rows, use_threads=False)


def merge_sorted_files(
    inputs: Sequence[Path | Sequence[Path]],
    *,
    schema: pa.Schema,
    dictionary_columns: list[str] | None = None,
    statistics_columns: list[str] | None = None,
    key_columns: tuple[str, ...],
    sort_columns: tuple[str, ...],
    open_output: Callable[[], Path],
    close_output: Callable[[Path, int], None],
    on_row_group: Callable[[pa.Table], None],
    row_group_rows: int,
    row_group_bytes: int,
    file_bytes: int,
    input_budget_bytes: int,
    step_guard: AbstractContextManager[Any] | None = None,
) -> None:
    """Merge files sorted on ``sort_columns`` (the first is the trace id) into new files.

    Each input is a file, or a sequence of files whose concatenation is sorted (a stream).

    ``dictionary_columns``: the columns written with dictionary encoding (None: all);
    ``statistics_columns``: those written with min/max statistics (None: all).
    ``open_output`` returns a path to write the next output file to; ``close_output(path,
    rows)`` is called once it is complete (written and closed). ``on_row_group`` sees every
    row group (merged, de-duplicated, sorted, whole traces) before it is written. Each merge
    step runs inside ``step_guard`` (e.g. a lock shared with other memory-hungry work, so
    their peaks take turns instead of adding up).
    """
    guard = step_guard if step_guard is not None else nullcontext()
    group_column = sort_columns[0]
    streams = [[item] if isinstance(item, Path) else list(item) for item in inputs]
    row_bytes = decoded_row_bytes([path for stream in streams for path in stream])
    batch_rows = max(_MIN_BATCH_ROWS, int(input_budget_bytes / max(1, len(streams)) / row_bytes))
    rows_per_group = max(_MIN_BATCH_ROWS, min(row_group_rows, int(row_group_bytes / row_bytes)))
    readers = []
    for stream in streams:
        readers.append(
            _Input(
                _stream_batches(stream, batch_rows),
                schema.empty_table(),
                schema,
                low_water=max(1, batch_rows // 2),
            )
        )
    writer = _OutputWriter(
        schema=schema,
        dictionary_columns=dictionary_columns,
        statistics_columns=statistics_columns,
        open_output=open_output,
        close_output=close_output,
        on_row_group=on_row_group,
        group_column=group_column,
        rows_per_group=rows_per_group,
        file_bytes=file_bytes,
    )
    try:
        for reader in readers:
            reader.refill()
        while True:
            with guard:
                if not _merge_step(readers, group_column, key_columns, sort_columns, writer):
                    break
        writer.finish()
    except BaseException:
        writer.abandon()
        raise


def _merge_step(
    readers: list[_Input],
    group_column: str,
    key_columns: tuple[str, ...],
    sort_columns: tuple[str, ...],
    writer: _OutputWriter,
) -> bool:
    """Move every row below the frontier to the writer and refill; False when all is done."""
    active = [r for r in readers if r.buffer.num_rows or not r.exhausted]
    if not active:
        return False
    waiting = [r for r in active if not r.exhausted]
    frontier = min(
        (r.buffer.column(group_column)[-1].as_py() for r in waiting if r.buffer.num_rows),
        default=None,
    )
    parts = []
    for reader in active:
        take = _rows_below(reader.buffer, group_column, frontier)
        if take:
            parts.append(reader.buffer.slice(0, take))
            reader.buffer = reader.buffer.slice(take)
    if parts:
        merged = _deduplicate_and_sort(
            pa.concat_tables(parts), key_columns=key_columns, sort_columns=sort_columns
        )
        writer.append(merged)
    for reader in waiting:
        # Refill inputs running low (so every input reads well ahead of the next frontier and
        # steps stay large), and those holding only frontier rows (their next batch may
        # continue that trace).
        if reader.buffer.num_rows < reader.low_water or (
            frontier is not None
            and reader.buffer.column(group_column)[0].as_py() == frontier
        ):
            reader.refill()
    return True


def _rows_below(table: pa.Table, column: str, frontier: str | None) -> int:
    """How many leading rows of a table sorted on ``column`` are below ``frontier`` (all of
    them when there is no frontier)."""
    if not table.num_rows:
        return 0
    if frontier is None:
        return table.num_rows
    return int(pc.sum(pc.less(table.column(column), frontier)).as_py() or 0)


def _deduplicate_and_sort(
    table: pa.Table, *, key_columns: tuple[str, ...], sort_columns: tuple[str, ...]
) -> pa.Table:
    """One row per key, in sort order. Only the key and sort columns are reordered while
    working it out; the full rows are copied once."""
    keys = table.select(list(key_columns))
    order = pc.sort_indices(keys, sort_keys=[(column, "ascending") for column in key_columns])
    if table.num_rows > 1:
        by_key = keys.take(order)
        repeated = None
        for column in key_columns:
            values = by_key.column(column)
            same = pc.equal(values.slice(1), values.slice(0, table.num_rows - 1))
            repeated = same if repeated is None else pc.and_(repeated, same)
        assert repeated is not None
        keep = pa.concat_arrays(
            [pa.array([True]), pc.invert(pc.fill_null(repeated, False)).combine_chunks()]
        )
        order = order.filter(keep)
    ordering = table.select(list(sort_columns)).take(order)
    final = pc.sort_indices(ordering, sort_keys=[(column, "ascending") for column in sort_columns])
    return table.take(order.take(final))


def _trace_end(trace_ids: pa.ChunkedArray, at: int) -> int:
    """The first row at or after ``at`` that starts a new trace (or the end): rows are sorted
    by trace id, so a row group cut there holds whole traces."""
    if at >= len(trace_ids):
        return len(trace_ids)
    last = trace_ids[at - 1]
    changed = pc.index(pc.not_equal(trace_ids.slice(at), last), True).as_py()
    return len(trace_ids) if changed < 0 else at + changed


class _OutputWriter:
    """Writes merged rows as row groups that end between traces, into files of about
    ``file_bytes`` compressed bytes each."""

    def __init__(
        self,
        *,
        schema: pa.Schema,
        dictionary_columns: list[str] | None,
        statistics_columns: list[str] | None,
        open_output: Callable[[], Path],
        close_output: Callable[[Path, int], None],
        on_row_group: Callable[[pa.Table], None],
        group_column: str,
        rows_per_group: int,
        file_bytes: int,
    ) -> None:
        self._schema = schema
        self._group_column = group_column
        self._dictionary_columns = dictionary_columns
        self._statistics_columns = statistics_columns
        self._on_row_group = on_row_group
        self._open_output = open_output
        self._close_output = close_output
        self._rows_per_group = rows_per_group
        self._file_bytes = file_bytes
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._path: Path | None = None
        self._writer: pq.ParquetWriter | None = None
        self._file_rows = 0

    def append(self, rows: pa.Table) -> None:
        """Queue whole traces; write row groups of about ``rows_per_group`` rows (each ending
        between traces) while enough rows are queued. One merge step can bring several row
        groups' worth: written as one, a row group held a whole step (~4,400 GenAI spans
        against ~1,260 asked for), which a one-trace read then decoded in full."""
        self._pending.append(rows)
        self._pending_rows += rows.num_rows
        if self._pending_rows < self._rows_per_group:
            return
        queued = pa.concat_tables(self._pending)
        start = 0
        while queued.num_rows - start >= self._rows_per_group:
            end = _trace_end(queued[self._group_column], start + self._rows_per_group)
            self._write_row_group(queued.slice(start, end - start))
            start = end
        rest = queued.num_rows - start
        # The rows left (less than a row group) are copied: a slice would keep the whole
        # step's buffers alive until the next row group is cut (~16 MB more in the merge child).
        self._pending = [queued.take(pa.array(range(start, queued.num_rows), pa.int64()))] if rest else []
        self._pending_rows = rest

    def finish(self) -> None:
        """Write what is queued and complete the current file."""
        if self._pending_rows:
            self._write_row_group(pa.concat_tables(self._pending))
            self._pending = []
            self._pending_rows = 0
        self._close_file()

    def abandon(self) -> None:
        """Close and delete the file being written (after a failure)."""
        if self._writer is not None:
            try:
                self._writer.close()
            finally:
                self._writer = None
                if self._path is not None:
                    self._path.unlink(missing_ok=True)

    def _write_row_group(self, table: pa.Table) -> None:
        self._on_row_group(table)
        if self._writer is None:
            self._path = self._open_output()
            self._writer = pq.ParquetWriter(
                self._path, self._schema, compression="zstd",
                write_statistics=True if self._statistics_columns is None else self._statistics_columns,
                use_dictionary=True if self._dictionary_columns is None else self._dictionary_columns,
            )
            self._file_rows = 0
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))
        self._file_rows += table.num_rows
        assert self._path is not None
        if self._path.stat().st_size >= self._file_bytes:
            self._close_file()

    def _close_file(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        self._writer = None
        assert self._path is not None
        self._close_output(self._path, self._file_rows)
        self._path = None
