"""Readers whose snapshot lost a file to compaction: recognise it, refresh, retry once.

A read connection's views name the files of one manifest snapshot. When compaction swaps
files (swap.py), the inputs leave ``<dataset>/`` for ``<dataset>/_retired/`` *before* the
merged files appear, so a glob never sees a row twice; a query on the older snapshot then
finds an input gone from the path its view names. DuckDB answers that with an
``IOException`` ("No files found that match the pattern ..." when the query starts, "No such
file or directory" when a file goes while it runs). Nothing is lost: the newer snapshot names
the merged files, which hold the same rows. A reader therefore takes a new snapshot and runs
the query again, once; a second failure is a real missing file and is raised.

In the collector a new snapshot comes from ``SpanStore.connect()`` (or whatever the caller
uses to rebuild its views from the store's manifest): the store holds its manifest lock for
the whole swap, so a snapshot taken after the error already names the merged files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import duckdb

_T = TypeVar("_T")
_C = TypeVar("_C")

# What DuckDB says when a path a view names is gone (at planning / while scanning).
_MISSING_FILE_MESSAGES = ("No files found that match the pattern", "No such file or directory")


def is_moved_file_error(error: BaseException) -> bool:
    """True when ``error`` says a file a query's snapshot names is gone: take a new snapshot
    and retry the query once (``retry_after_refresh`` does both)."""
    if isinstance(error, FileNotFoundError):  # pyarrow, or Python's own file access
        return True
    if not isinstance(error, duckdb.IOException):
        return False
    text = str(error)
    return any(message in text for message in _MISSING_FILE_MESSAGES)


def read_with_retry(connect: Callable[[], _C], read: Callable[[_C], _T]) -> _T:
    """``read(connect())``; when it fails because compaction moved a file away, once more on a
    new ``connect()`` (e.g. ``read_with_retry(store.connect, lambda c: ...)``)."""
    connection = [connect()]

    def refresh() -> None:
        connection[0] = connect()

    return retry_after_refresh(lambda: read(connection[0]), refresh)


def retry_after_refresh(query: Callable[[], _T], refresh: Callable[[], object]) -> _T:
    """Run ``query``; when it fails because compaction moved a file away, call ``refresh`` (new
    snapshot: e.g. rebuild the connection's views) and run ``query`` once more."""
    try:
        return query()
    except Exception as error:
        if not is_moved_file_error(error):
            raise
    refresh()
    return query()
