"""Which traces each span file holds, as a sorted array of their 8-byte lookup numbers.

A read of one trace's spans lists the files whose trace-id range holds the id
(file_ranges.py). Trace ids are random, so every compacted run's range covers nearly every id:
at a million spans that was every live file (~15), each opened and its matching row group's
``trace_id`` column read, to find the one file the trace is in. Knowing each file's trace
numbers (the trace index's ``trace_number``: the id's first 15 hex digits), the reader opens
only the files that hold the trace: one, usually.

Files are immutable once published, so the numbers are read once per file (file_facts.py): one
scan of its ``trace_id`` column (a few milliseconds for a flush's file, up to ~0.5 s for a large
compacted one), in a background thread started when the manifest changes (:func:`warm`); until
then a lookup reads the file as before rather than wait. They cost 8 bytes per trace and file
(~3 MB at a million spans). Two ids may share a number (the lookup compares the ids too), so
"holds the number" means "may hold the trace": never a file left out that holds it.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import threading
import time
from array import array
from pathlib import Path

import duckdb
import pyarrow.compute as pc

from otel_feedback_collector.storage.file_facts import FileFacts
from otel_feedback_collector.storage.trace_index import trace_number_sql

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_NUMBER_DIGITS = 15
_WARM_NICENESS = 10


def trace_number(trace_id: str) -> int | None:
    """The lookup number of a hex trace id (as ``trace_number_sql`` computes it); None for
    an id that is not hex (files are then not told apart by number)."""
    digits = trace_id[:_NUMBER_DIGITS]
    if not digits or not _HEX_DIGITS.issuperset(digits):
        return None
    return int(digits, 16)


def may_hold(path: Path, number: int) -> bool:
    """False only when the span file ``path`` holds no trace with lookup number ``number``;
    True when it may, or when its numbers are not known yet (see :func:`warm`) or cannot be
    read: the file is then read as before. A request never waits for a file's numbers."""
    numbers = _numbers.known(path)
    if numbers is None:
        return True
    at = bisect.bisect_left(numbers, number)
    return at < len(numbers) and numbers[at] == number


def warm(paths: list[Path]) -> None:
    """Read the numbers of those of ``paths`` not read yet, in a background thread, so that
    no request waits for a new compacted file's (~0.1-0.5 s). One thread at a time; a newer
    list replaces one still waiting."""
    global _waiting, _warming
    with _warm_lock:
        _waiting = list(paths)
        if _warming:
            return
        _warming = True
    threading.Thread(target=_warm_waiting, name="file-traces-warm", daemon=True).start()


def wait_warmed(timeout: float) -> bool:
    """Wait up to ``timeout`` seconds until no warming is under way; True when none is."""
    deadline = time.monotonic() + timeout
    while True:
        with _warm_lock:
            if not _warming:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def stop_warming(timeout: float = 60.0) -> None:
    """Drop the files waiting to be warmed and wait for the one being read (a store closing:
    no DuckDB read of ours may still run when the process exits)."""
    global _waiting, _stops
    with _warm_lock:
        _waiting = None
        _stops += 1
    wait_warmed(timeout)


def _warm_waiting() -> None:
    global _waiting, _warming
    # Below the request threads (Linux niceness is per thread): a large file's read takes up
    # to a second of CPU right after a compaction, while requests keep coming.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _WARM_NICENESS)
    while True:
        with _warm_lock:
            paths, _waiting, stops = _waiting, None, _stops
            if paths is None:
                _warming = False
                return
        for directory in {path.parent for path in paths}:
            _numbers.forget_others(directory, paths)
        for path in paths:
            if _stops != stops:  # stop_warming: leave the rest
                break
            _numbers.get(path)


def _read_numbers(path: Path) -> array | None:
    """The file's distinct trace numbers, ascending; None when it cannot be read.

    DuckDB only computes the numbers (a streaming scan); Arrow de-duplicates and sorts them.
    A ``DISTINCT ... ORDER BY`` in DuckDB needed more than this database's 64 MB for the ~1M
    traces of a 1 GB file at ten million spans, and it has no spill directory: such files
    were never learned and every lookup read all of them.
    """
    connection = _connection().cursor()
    try:
        relation = connection.sql(
            f"SELECT {trace_number_sql('trace_id')} AS number FROM read_parquet($path)",
            params={"path": str(path)},
        )
        # DuckDB 1.x calls it fetch_arrow_table(); 2.x to_arrow_table().
        table = (getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table)()
    except (duckdb.Error, OSError):
        return None
    finally:
        connection.close()
    column = table.column("number")
    if column.null_count:  # cannot happen (coalesce); be safe rather than wrong
        return None
    distinct = pc.unique(column)  # one array, whatever the column's chunks
    ordered = pc.take(distinct, pc.array_sort_indices(distinct))
    numbers = array("q")
    # The int64 values buffer (native byte order, as ``array``'s), no Python object per trace.
    numbers.frombytes(ordered.buffers()[1].to_pybytes()[ordered.offset * 8 : (ordered.offset + len(ordered)) * 8])
    return numbers


def _connection() -> duckdb.DuckDBPyConnection:
    """One small in-memory database for these reads (opening one costs milliseconds)."""
    global _database
    with _database_lock:
        if _database is None:
            # No spill directory: an in-memory database would spill into ``.tmp`` in the working
            # directory, wherever the collector was started. Its queries stream (see
            # ``_read_numbers``), so they need none.
            _database = duckdb.connect(config={"threads": 1, "memory_limit": "64MB", "temp_directory": ""})
        return _database


_numbers: FileFacts[array | None] = FileFacts(_read_numbers)
_database: duckdb.DuckDBPyConnection | None = None
_database_lock = threading.Lock()
_warm_lock = threading.Lock()
_waiting: list[Path] | None = None  # the files to warm next
_warming = False  # a warming thread runs
_stops = 0  # how many times stop_warming was called


__all__ = ["may_hold", "stop_warming", "trace_number", "wait_warmed", "warm"]
