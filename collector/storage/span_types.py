"""The span types present in the live span files, without scanning every span per request.

The UI traces table offers a filter by span type; ``SELECT DISTINCT span_type FROM spans`` on
every page load read one column of every span (about a second at five million spans). A
file's span types never change (files are immutable), so they are read once per file
(file_facts.py) and each request takes the union over the files of its snapshot: one
``stat`` per file, plus one column read of each file it has not seen yet (a new flush's or
a merge's file).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq

from otel_feedback_collector.storage.file_facts import FileFacts


def _types_in(path: Path) -> frozenset[str]:
    """The distinct non-null ``span_type`` values of one file, a row group at a time (so
    memory stays at one column of one row group)."""
    parquet = pq.ParquetFile(path)
    found: set[str] = set()
    for group in range(parquet.num_row_groups):
        column = parquet.read_row_group(group, columns=["span_type"]).column(0)
        found.update(value for value in pc.unique(column).to_pylist() if value is not None)
    return frozenset(found)


_types: FileFacts[frozenset[str]] = FileFacts(_types_in)


def live_span_types(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The sorted span types of the connection's ``spans`` view. Reads the per-file types of
    the files its ``span_files`` table lists (views.py); a view that de-duplicates (an older
    directory) has no such table and is scanned instead."""
    try:
        paths = [row[0] for row in connection.execute("SELECT path FROM span_files").fetchall()]
    except duckdb.CatalogException:
        rows = connection.execute("SELECT DISTINCT span_type FROM spans WHERE span_type IS NOT NULL").fetchall()
        return sorted(row[0] for row in rows)
    found: set[str] = set()
    for path in paths:
        known = _types.get(Path(path))
        if known is None:  # moved away by a compaction: the caller's retry takes a new snapshot
            raise FileNotFoundError(f"{path} was moved away while it was read")
        found.update(known)
    return sorted(found)


__all__ = ["live_span_types"]
