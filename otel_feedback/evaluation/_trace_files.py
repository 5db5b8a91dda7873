"""Reading traces for an evaluation straight from Parquet: a data directory or span files.

A *data directory* (it has ``manifest.json``) is read through the collector's storage views,
which see exactly the live files (the ``collector`` extra; found by entry point, see
``otel_feedback._extras``). A path or glob of span
files (``.../spans/*.parquet``, copied files, another machine's export) is read with DuckDB,
de-duplicated on ``(trace_id, span_id)`` as docs/storage.md recommends; such files carry no
assessments, so their rows have no expectations.
"""

from __future__ import annotations

import glob
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from otel_feedback_core.json_text import decode_json_text
from otel_feedback import _extras
from otel_feedback.evaluation._trace import TraceSpan
from otel_feedback_core.layout import MANIFEST_NAME

_ROOT_FIRST = "(parent_span_id IS NOT NULL, start_time_unix_nano)"
# Names treated as expectations when no data directory says which names are expectations.
_EXPECTATION_NAMES = frozenset({"expected_response", "expected_facts", "guidelines"})


def is_data_dir(path: Any) -> bool:
    """True when ``path`` is a collector data directory (it has a manifest), or a list of
    such directories (several collectors', read as one: docs/scaling.md)."""
    if isinstance(path, (str, os.PathLike)):
        return (Path(path) / MANIFEST_NAME).is_file()
    if isinstance(path, (list, tuple)) and path:
        return all(isinstance(entry, (str, os.PathLike)) and is_data_dir(entry) for entry in path)
    return False


def first_dir(data_dir: Any) -> Path:
    """Where a run over ``data_dir`` is written: the directory, or the first of a list."""
    return Path(data_dir if isinstance(data_dir, (str, os.PathLike)) else data_dir[0])


def looks_like_expectation(name: str) -> bool:
    """The fallback rule when stored types are unknown: ``expected_*`` and ``guidelines``."""
    return name in _EXPECTATION_NAMES or name.startswith("expected_")


def expectation_names(data_dir: Any) -> set[str]:
    """The names stored as expectations (``type = 'expectation'``) in a data directory."""
    connection = _extras.data_files("evaluate over a data directory").connect(data_dir)
    try:
        rows = connection.execute("SELECT DISTINCT name FROM assessments WHERE type = 'expectation'").fetchall()
    finally:
        connection.close()
    return {row[0] for row in rows}


def span_file_paths(pattern: str | os.PathLike[str]) -> list[str]:
    """The Parquet files a path or glob names; raises ``FileNotFoundError`` when there are none."""
    text = os.fspath(pattern)
    if os.path.isdir(text):
        spans_dir = os.path.join(text, "spans")
        text = os.path.join(spans_dir if os.path.isdir(spans_dir) else text, "*.parquet")
    paths = sorted(glob.glob(text)) if glob.has_magic(text) else ([text] if os.path.isfile(text) else [])
    if not paths:
        raise FileNotFoundError(
            f"no Parquet span files match {os.fspath(pattern)!r}: pass a data directory, a spans/*.parquet glob "
            "or a file path"
        )
    return paths


def root_rows_from_span_files(paths: Sequence[str]) -> list[dict[str, Any]]:
    """One row per trace (``trace_id``, ``request``, ``response``) from span files."""
    import duckdb

    connection = duckdb.connect()
    try:
        rows = connection.execute(
            f"""WITH spans AS (
                    SELECT * FROM read_parquet(?, union_by_name = true)
                    QUALIFY row_number() OVER (PARTITION BY trace_id, span_id) = 1
                )
                SELECT trace_id, arg_min(input, {_ROOT_FIRST}), arg_min(output, {_ROOT_FIRST}),
                       min(start_time_unix_nano) AS started
                FROM spans
                GROUP BY trace_id ORDER BY started""",
            [list(paths)],
        ).fetchall()
    finally:
        connection.close()
    return [
        {"trace_id": trace_id, "request": decode_json_text(request), "response": decode_json_text(response)}
        for trace_id, request, response, _ in rows
    ]


class StoredSpans:
    """Loads a trace's spans from a data directory or span files; safe to share between threads."""

    def __init__(self, *, data_dir: Any = None, span_files: Sequence[str] | None = None) -> None:
        if (data_dir is None) == (span_files is None):
            raise ValueError("StoredSpans reads either a data directory or span files")
        self._data_dir = data_dir
        self._span_files = list(span_files) if span_files is not None else None
        self._connection: Any = None
        self._lock = threading.Lock()

    def load(self, trace_id: str) -> list[TraceSpan]:
        """The spans of ``trace_id`` (empty when the files do not have it)."""
        with self._lock:
            connection = self._open()
            if self._span_files is not None:
                source = "(SELECT * FROM read_parquet(?, union_by_name = true) WHERE trace_id = ?)"
                params: list[Any] = [self._span_files, trace_id]
            else:
                source = "(SELECT * FROM spans WHERE trace_id = ?)"
                params = [trace_id]
            rows = connection.execute(
                f"""SELECT DISTINCT ON (span_id) span_id, parent_span_id, name, span_type, input, output,
                           attributes, start_time_unix_nano
                    FROM {source}""",
                params,
            ).fetchall()
        return [
            TraceSpan(
                span_id=span_id, parent_span_id=parent, name=name, span_type=(span_type or "UNKNOWN").upper(),
                inputs=decode_json_text(inputs), outputs=decode_json_text(outputs),
                attributes=decode_json_text(attributes) if attributes else {}, start_time_unix_nano=started or 0,
            )
            for span_id, parent, name, span_type, inputs, outputs, attributes, started in rows
        ]

    def close(self) -> None:
        """Close the DuckDB connection, if one was opened."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _open(self) -> Any:
        if self._connection is None:
            if self._data_dir is not None:
                self._connection = _extras.data_files("evaluate over a data directory").connect(self._data_dir)
            else:
                import duckdb

                self._connection = duckdb.connect()
        return self._connection
