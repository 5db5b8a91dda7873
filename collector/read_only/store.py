"""``ReadOnlyStore``: the store interface the API and UI read through, over several data
directories' files (storage/several_dirs.py), opening nothing for writing.

It never takes a directory's ``collector.lock`` nor opens its ``catalog.duckdb`` or trace
index: the owning collectors keep running and writing. Reads use cursors of one in-memory
DuckDB database, so each Parquet footer is read once (``parquet_metadata_cache``), and each
cursor's views are built once and reused until a directory's ``manifest.json`` changes (one
``stat`` per directory per request tells): new flushes show up on the next request.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb

from otel_feedback_collector.storage.several_dirs import DataDirs, create_views_over, data_directories
from otel_feedback_collector.storage.views import open_read_connection
from otel_feedback_core.layout import MANIFEST_NAME

_POOL_SIZE = 8
# What the read-only server's queries may hold in memory together; beyond it DuckDB spills
# to a private folder (a flood of large reads then slows down instead of taking the machine).
_MEMORY_LIMIT = "512MB"
_Signature = tuple[tuple[int, int, int] | None, ...]


class ReadOnlyStore:
    """Read connections with the views over every directory; no write method on purpose."""

    def __init__(self, data_dirs: DataDirs) -> None:
        self.directories = data_directories(data_dirs)
        self._database = open_read_connection()
        # Not the default spill folder (``.tmp`` in the working directory, wherever the server
        # was started): a private one, removed at close.
        self._spill = tempfile.mkdtemp(prefix="otel-feedback-read-only-")
        self._database.execute("SET temp_directory = $spill", {"spill": self._spill})
        self._database.execute(f"SET memory_limit = '{_MEMORY_LIMIT}'")
        self._lock = threading.Lock()
        self._pool: list[duckdb.DuckDBPyConnection] = []
        self._pool_signature: _Signature | None = None

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A new connection with the views over the directories' current files; the caller
        uses it in one thread and closes it."""
        with self._lock:
            cursor = self._database.cursor()
        try:
            create_views_over(cursor, self.directories)
        except BaseException:
            cursor.close()
            raise
        return cursor

    @contextlib.contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for the ``with`` block, from a pool of idle ones whose views match the
        directories' manifests (the way the API and the UI read)."""
        # Taken before the views are built: a manifest replaced in between only costs one
        # rebuild at the next request, never a stale answer.
        signature = self._signature()
        connection: duckdb.DuckDBPyConnection | None = None
        with self._lock:
            if signature != self._pool_signature:
                stale, self._pool, self._pool_signature = self._pool, [], signature
            else:
                stale = []
                connection = self._pool.pop() if self._pool else None
        for old in stale:
            old.close()
        if connection is None:
            connection = self.connect()
        try:
            yield connection
        except BaseException:
            connection.close()
            raise
        with self._lock:
            if signature == self._pool_signature and len(self._pool) < _POOL_SIZE:
                self._pool.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """Close every connection."""
        with self._lock:
            stale, self._pool, self._pool_signature = self._pool, [], None
        for old in stale:
            old.close()
        self._database.close()
        shutil.rmtree(self._spill, ignore_errors=True)

    def _signature(self) -> _Signature:
        """What identifies each directory's current manifest (it is replaced by a rename, so
        a new version has a new inode or mtime); None where there is none yet."""
        found = []
        for directory in self.directories:
            try:
                status = os.stat(Path(directory) / MANIFEST_NAME)
            except FileNotFoundError:
                found.append(None)
            else:
                found.append((status.st_ino, status.st_mtime_ns, status.st_size))
        return tuple(found)


__all__ = ["ReadOnlyStore"]
