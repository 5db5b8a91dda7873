"""A DuckDB connection for a user's own SQL: the views, and no other file, network or setting.

The views read our Parquet files through ``read_parquet``, so file access cannot simply be
switched off; instead the connection may open exactly the files the views list
(``allowed_paths``), nothing else (no directory, no network, no extension), and its
configuration is locked so the query cannot ``SET`` its way back out. Together with
readonly_sql.py (one SELECT statement only) this is what ``search_traces(sql=...)`` and
``otel-feedback sql`` run in.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path

import duckdb

from otel_feedback_collector.storage.several_dirs import DataDirs, create_views_over, data_directories
from otel_feedback_collector.storage.views import open_read_connection


def connect_for_user_sql(data_dir: DataDirs) -> duckdb.DuckDBPyConnection:
    """A read connection with the views over ``data_dir`` (one data directory or several read
    as one, see storage/several_dirs.py), locked down for untrusted SQL."""
    directories = data_directories(data_dir)
    connection = open_read_connection()
    try:
        files = create_views_over(connection, directories)
        lock_down(connection, files)
    except BaseException:
        connection.close()
        raise
    return connection


def lock_down(connection: duckdb.DuckDBPyConnection, readable: Sequence[Path]) -> None:
    """Allow ``connection`` to open only ``readable``, then lock its configuration.

    Call after the views exist. A DuckDB without ``allowed_paths`` (before 1.2) cannot serve
    the views with external access off, so it is refused rather than run unsandboxed.
    """
    paths = [str(path) for path in readable]
    # DuckDB keeps its spill directory readable after external access is off; the default
    # (.tmp in the working directory) may hold anything, so spill to a private empty one.
    spill = tempfile.mkdtemp(prefix="otel-feedback-sql-")
    weakref.finalize(connection, shutil.rmtree, spill, True)
    try:
        connection.execute("SET temp_directory = $spill", {"spill": spill})
        connection.execute("SET allowed_directories = []")
        connection.execute("SET allowed_paths = $paths", {"paths": paths})
    except duckdb.Error as error:
        raise RuntimeError(
            f"DuckDB {duckdb.__version__} cannot restrict file access ({error}); user SQL needs "
            "DuckDB 1.2 or newer: pip install -U 'duckdb>=1.2'."
        ) from None
    # Python objects in the caller's frames must not become tables either.
    connection.execute("SET python_enable_replacements = false")
    connection.execute("SET autoinstall_known_extensions = false")
    connection.execute("SET autoload_known_extensions = false")
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")
