"""The range of span start times each span file holds, from its Parquet footer.

A read of one trace's spans knows the window its spans started in (the trace index keeps each
trace's first and latest start). DuckDB skips row groups by their statistics, but it still opens
every file of a view to do so, about a millisecond each; with dozens of live files that was most
of the time of a trace lookup. Knowing each file's range, the reader lists only the files that
can hold the trace (views.py's ``span_files`` table; search.py's ``one_trace_spans``).

Files are immutable once published, so a range is remembered per (path, size, mtime).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow.parquet as pq

_COLUMN = "start_time_unix_nano"
_ranges: dict[str, tuple[tuple[int, int], tuple[int, int] | None]] = {}
_lock = threading.Lock()


def start_range(path: Path) -> tuple[int, int] | None:
    """``(min, max)`` of the file's ``start_time_unix_nano`` from its row-group statistics;
    None when unknown (no statistics, an unreadable file): then the file is always read."""
    try:
        status = path.stat()
    except OSError:
        return None
    key = (status.st_size, status.st_mtime_ns)
    name = str(path)
    with _lock:
        known = _ranges.get(name)
    if known is not None and known[0] == key:
        return known[1]
    found = _read_range(path)
    with _lock:
        if len(_ranges) > 100_000:  # files come and go with compaction: forget the old ones
            _ranges.clear()
        _ranges[name] = (key, found)
    return found


def _read_range(path: Path) -> tuple[int, int] | None:
    try:
        metadata = pq.read_metadata(path)
        index = metadata.schema.names.index(_COLUMN)
        lows, highs = [], []
        for group in range(metadata.num_row_groups):
            statistics = metadata.row_group(group).column(index).statistics
            if statistics is None or not statistics.has_min_max:
                return None
            lows.append(statistics.min)
            highs.append(statistics.max)
    except (OSError, ValueError):
        return None
    if not lows:
        return None
    return int(min(lows)), int(max(highs))


__all__ = ["start_range"]
