"""The range of span start times and of trace ids each span file holds, from its footer.

A read of one trace's spans knows the window its spans started in (the trace index keeps each
trace's first and latest start). DuckDB skips row groups by their statistics, but it still opens
every file of a view to do so, about a millisecond each; with dozens of live files that was most
of the time of a trace lookup. Knowing each file's ranges, the reader lists only the files that
can hold the trace (views.py's ``span_files`` table; search.py's ``one_trace_spans``): those
whose start range meets the window and whose trace-id range holds the id. The start range
prunes the files flushed before or after the trace; the trace-id range prunes all but one file
of each compacted run (a run's files cover disjoint trace-id ranges).

Files are immutable once published, so ranges are remembered per file (file_facts.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from otel_feedback_collector.storage.file_facts import FileFacts


@dataclass(frozen=True)
class FileRanges:
    """A span file's ``(min, max)`` start time and trace id; None where unknown."""

    start: tuple[int, int] | None
    trace_id: tuple[str, str] | None


def file_ranges(path: Path) -> FileRanges:
    """The file's ranges from its row-group statistics; unknown (None) without statistics or
    for an unreadable file: then the file is always read."""
    return _ranges.get(path) or FileRanges(None, None)


def start_range(path: Path) -> tuple[int, int] | None:
    """``(min, max)`` of the file's ``start_time_unix_nano`` (None when unknown)."""
    return file_ranges(path).start


def _read_ranges(path: Path) -> FileRanges:
    try:
        metadata = pq.read_metadata(path)
    except (OSError, ValueError):
        return FileRanges(None, None)
    start = _column_range(metadata, "start_time_unix_nano")
    trace_id = _column_range(metadata, "trace_id")
    return FileRanges(
        (int(start[0]), int(start[1])) if start else None,
        (str(trace_id[0]), str(trace_id[1])) if trace_id else None,
    )


def _column_range(metadata: pq.FileMetaData, column: str) -> tuple[object, object] | None:
    try:
        index = metadata.schema.names.index(column)
    except ValueError:
        return None
    lows, highs = [], []
    for group in range(metadata.num_row_groups):
        statistics = metadata.row_group(group).column(index).statistics
        if statistics is None or not statistics.has_min_max:
            return None
        lows.append(statistics.min)
        highs.append(statistics.max)
    if not lows:
        return None
    return min(lows), max(highs)


_ranges: FileFacts[FileRanges] = FileFacts(_read_ranges)


__all__ = ["FileRanges", "file_ranges", "start_range"]
