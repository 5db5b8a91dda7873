"""Trace summary files of an older version (unsigned columns, no timestamps) rewritten at start-up.

Versions before this one wrote the ``trace_summaries`` sort keys and span-id bit sets as
``uint64``, and no timestamp columns. Spark reads ``uint64`` as ``decimal(20,0)`` and Iceberg
has no unsigned type, so the summaries are now ``int64`` with ``start_time``/``end_time``
timestamps (trace_summaries.py). A collector opening a directory written before rewrites each
such file once, at start-up, before anything reads or adds to them:

* the sort keys are below 2^63 (a has-parent flag at bit 62 and a 62-bit time), so they keep
  their value;
* the bit sets keep their 64 bits: a set whose bit 63 is on becomes a negative ``int64``.
  They are only and-ed, or-ed and counted, and the bits are the same.

Rewritten, not cast at read time: readers then see one type in every file of the folder
(Spark cannot read a folder whose files disagree on a column's type, and DuckDB's casts of
``uint64`` to ``int64`` fail on bit 63). The rewrite goes through compaction's swap
(swap.py), so a glob of ``trace_summaries/*.parquet`` never sees a trace's summary twice and a
crash part-way is undone at the next start, which then rewrites again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from otel_feedback_collector.storage.datasets import TRACE_SUMMARIES, data_file_name, pending_file
from otel_feedback_collector.storage.manifest import DataFile, Manifest
from otel_feedback_collector.storage.swap import discard_pending, swap_files
from otel_feedback_collector.storage.trace_summaries import TRACE_SUMMARY_SCHEMA
from otel_feedback_core.files import fsync_file

logger = logging.getLogger("otel_feedback_collector.storage")


def is_older_layout(path: Path) -> bool:
    """Whether the summary file at ``path`` has another schema than ``TRACE_SUMMARY_SCHEMA``
    (unsigned columns, no timestamp columns): its footer only."""
    found = pq.read_schema(path)
    return [(f.name, f.type) for f in found] != [(f.name, f.type) for f in TRACE_SUMMARY_SCHEMA]


def as_current_layout(table: pa.Table) -> pa.Table:
    """An older summary table in ``TRACE_SUMMARY_SCHEMA``: every unsigned column's 64 bits
    read as signed, the timestamp columns computed from the nanosecond ones when missing."""
    columns = []
    for field in TRACE_SUMMARY_SCHEMA:
        if field.name in table.column_names:
            column = table[field.name]
        else:  # start_time / end_time, from the exact times the older files hold
            nanos = table[f"any_{field.name}_unix_nano"]
            column = pc.divide(nanos, 1000).cast(pa.int64()).cast(field.type)
        if pa.types.is_unsigned_integer(column.type):
            # safe=False keeps the bits: 2^63 + x becomes -2^63 + x, no overflow error.
            column = pc.cast(column, field.type, safe=False)
        columns.append(column.cast(field.type))
    return pa.Table.from_arrays(columns, schema=TRACE_SUMMARY_SCHEMA)


def rewrite_older_summaries(
    data_dir: Path,
    manifest: Manifest,
    *,
    take_file_number: Callable[[], int],
    publish: Callable[[list[DataFile], list[DataFile]], None],
) -> int:
    """Rewrite the live summary files of ``manifest`` in an older layout (unsigned columns, no
    timestamps); returns how many. ``take_file_number`` hands out new file numbers; ``publish(old, new)`` commits a
    manifest in which ``new`` replaces ``old`` (called once, inside the swap)."""
    old = [f for f in manifest.files[TRACE_SUMMARIES.name] if is_older_layout(data_dir / f.path)]
    if not old:
        return 0
    logger.info("Rewriting %d trace summary files written by an older version (signed integers, timestamps).", len(old))
    new: list[DataFile] = []
    try:
        for data_file in old:
            path = data_file_name(TRACE_SUMMARIES, level=data_file.level, number=take_file_number())
            pending = pending_file(data_dir, path)
            new.append(DataFile(path=path, rows=data_file.rows, level=data_file.level, run=data_file.run))
            # The same rows in the same order (already sorted by trace id) and row groups of
            # the same size, so the same statistics.
            source = pq.ParquetFile(data_dir / data_file.path)
            group_rows = source.metadata.row_group(0).num_rows if source.metadata.num_row_groups else None
            pq.write_table(
                as_current_layout(source.read()), pending, compression="zstd", write_statistics=True,
                row_group_size=group_rows or None,
            )
            fsync_file(pending)
        swap_files(
            data_dir,
            retiring=[f.path for f in old],
            merged=[f.path for f in new],
            publish=lambda: publish(old, new),
        )
    except BaseException:
        discard_pending(data_dir, [f.path for f in new])
        raise
    return len(old)


__all__ = ["as_current_layout", "is_older_layout", "rewrite_older_summaries"]
