"""Reading several data directories as one: the views over every collector's files at once.

Several collectors behind a front that routes by trace id (docs/scaling.md) each write their
own data directory. A reader opens the views (``spans``, ``traces``, ``assessment_log``,
``assessments``, ``current_assessments``) over all of them, from their manifests and Parquet
files only: no directory's ``collector.lock``, catalog or trace index is touched, so the
owning collectors may be running.

Exactness: a trace id is normally in one directory, but nothing forbids a split trace (a
front re-balanced, a sender that bypassed it). The directories' manifests are combined into
one whose file paths are absolute and whose run numbers are renumbered so no two directories
share one. The views' existing rules then give exact rows across directories too: spans and
assessments from several runs are de-duplicated on their key (``(trace_id, span_id)``,
``assessment_id``), and the ``traces`` view combines each trace's partial summaries from
every run, recomputing from the de-duplicated spans the traces whose partials might share a
span (trace_summaries.py).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import duckdb

from otel_feedback_collector.storage.datasets import SPANS, TRACE_SUMMARIES, parquet_list_sql
from otel_feedback_collector.storage.manifest import DATASETS, Manifest, read_manifest
from otel_feedback_collector.storage.readable_files import readable_manifest
from otel_feedback_collector.storage.trace_summaries import traces_from_summaries_sql, traces_from_unique_summaries_sql
from otel_feedback_collector.storage.views import create_views, data_directory, open_read_connection

DataDirs = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
"""One data directory, or several to read as one."""


def data_directories(data_dirs: DataDirs) -> list[Path]:
    """The directories resolved, each checked to exist, without repeats (in the given order)."""
    given = [data_dirs] if isinstance(data_dirs, (str, os.PathLike)) else list(data_dirs)
    if not given:
        raise ValueError("Name at least one data directory to read (--data DIR, repeatable).")
    found: list[Path] = []
    for directory in (data_directory(entry) for entry in given):
        if directory not in found:  # the same directory twice would only cost de-duplication
            found.append(directory)
    return found


def combined_manifest(directories: Sequence[Path], manifests: Sequence[Manifest]) -> Manifest:
    """One manifest listing the live files of every directory, for ``create_views``.

    Its paths are absolute, so ``data_dir / path`` (what the views compute) is the file itself
    whatever ``data_dir`` is. Run ``r`` of the ``i``-th directory becomes run ``r * n + i``:
    runs stay distinct, so the views de-duplicate across directories as they do across runs.
    Spans count as disjoint only when at most one directory holds any."""
    count = len(directories)
    files: dict[str, list] = {name: [] for name in DATASETS}
    for index, (directory, manifest) in enumerate(zip(directories, manifests)):
        for dataset, entries in manifest.files.items():
            files.setdefault(dataset, []).extend(
                dataclasses.replace(f, path=str(directory / f.path), run=f.run * count + index) for f in entries
            )
    with_spans = [m for m in manifests if m.files["spans"]]
    disjoint = len(with_spans) == 0 or (len(with_spans) == 1 and with_spans[0].disjoint_spans)
    return Manifest(files=files, disjoint_spans=disjoint)


def create_views_over(connection: duckdb.DuckDBPyConnection, directories: Sequence[Path]) -> list[Path]:
    """Create the views on ``connection`` over the live files of ``directories`` (one or more);
    returns the files they read. Each manifest is read once here: one consistent snapshot per
    directory (a new connection sees newer files)."""
    manifests = [read_manifest(directory) for directory in directories]
    if len(directories) == 1:
        return create_views(connection, directories[0], manifests[0])
    combined = readable_manifest(directories[0], combined_manifest(directories, manifests))
    files = create_views(connection, directories[0], combined)
    _read_split_traces_apart(connection, combined)
    return files


def _read_split_traces_apart(connection: duckdb.DuckDBPyConnection, manifest: Manifest) -> None:
    """Replace the ``traces`` and ``spans`` views by ones that do the cross-run work for the
    traces with several partial summaries (split across directories or flushes) only: their
    partials are combined once, into a table of this connection, and only their spans are
    de-duplicated; every other trace's single partial and spans are read as they are. Same rows
    as the views ``create_views`` made (a span in two runs has its trace's partial in both),
    without combining every trace and de-duplicating every span on each query (that cost most
    of a page over two small directories). Kept as they are when some span run has no
    summaries (the views then summarise spans, see ``views.traces_sql``)."""
    span_runs = {f.run for f in manifest.files[SPANS.name]}
    summary_files = manifest.files[TRACE_SUMMARIES.name]
    if not summary_files or span_runs - manifest.runs_with_summaries():
        return
    summaries = parquet_list_sql(Path("/"), [f.path for f in summary_files])  # absolute paths
    spans = parquet_list_sql(Path("/"), [f.path for f in manifest.files[SPANS.name]], filename=True)
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE _several_partials AS "
        f"SELECT trace_id FROM {summaries} GROUP BY trace_id HAVING count(*) > 1"
    )
    deduplicated = (
        f"(SELECT * EXCLUDE (filename) FROM {spans} WHERE trace_id IN {{trace_ids}} "
        "QUALIFY row_number() OVER (PARTITION BY trace_id, span_id ORDER BY filename) = 1)"
    )
    several = f"(SELECT * FROM {summaries} WHERE trace_id IN (SELECT trace_id FROM _several_partials))"
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE _combined_traces AS "
        + traces_from_summaries_sql(several, deduplicated_spans_of=deduplicated)
    )
    single = f"(SELECT * FROM {summaries} WHERE trace_id NOT IN (SELECT trace_id FROM _several_partials))"
    connection.execute(
        f"CREATE OR REPLACE TEMP VIEW traces AS {traces_from_unique_summaries_sql(single)} "
        "UNION ALL SELECT * FROM _combined_traces"
    )
    plain_spans = parquet_list_sql(Path("/"), [f.path for f in manifest.files[SPANS.name]])
    split_spans = f"(SELECT * FROM {spans} WHERE trace_id IN (SELECT trace_id FROM _several_partials))"
    connection.execute(
        f"CREATE OR REPLACE TEMP VIEW spans AS SELECT * FROM {plain_spans} "
        "WHERE trace_id NOT IN (SELECT trace_id FROM _several_partials) "
        f"UNION ALL SELECT * FROM ({SPANS.dedup_sql(split_spans)})"
    )


def connect_several(data_dirs: DataDirs) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection with the views over one or several data directories."""
    directories = data_directories(data_dirs)
    connection = open_read_connection()
    try:
        create_views_over(connection, directories)
    except BaseException:
        connection.close()
        raise
    return connection


__all__ = ["DataDirs", "combined_manifest", "connect_several", "create_views_over", "data_directories"]
