"""Leaving unreadable Parquet files out of the views, loudly.

One file whose footer cannot be read (cut short on disk, deleted behind our back) would make
every query over a view that lists it fail, so the UI, the API and ``otel-feedback sql`` would
all stop answering. Instead, each live file's footer is checked before the views are built;
a file that fails is left out with an error in the log (once per file) and is listed by
``unreadable_files()`` so /healthz and ``otel-feedback sql`` can say so.

Parquet files are immutable once renamed into place, so a check is remembered per
(path, size, mtime) and a connection costs one ``stat`` per file, not one footer read.

A live file that compaction has just moved into ``<dataset>/_retired/`` (the manifest read was
written before the swap finished, see swap.py) is not unreadable: the views read it there,
with the same rows, until the grace period ends.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path

import pyarrow.parquet as pq

from otel_feedback_collector.storage.manifest import DataFile, Manifest, read_manifest, retired_path

logger = logging.getLogger(__name__)

_SUMMARIES = "trace_summaries"

# path -> ((size, mtime_ns), reason or None); reason None means the footer was read.
_checked: dict[str, tuple[tuple[int, int], str | None]] = {}
_lock = threading.Lock()


def unreadable_reason(path: Path) -> str | None:
    """Why ``path`` cannot be read as Parquet, or None when its footer reads."""
    try:
        status = path.stat()
    except OSError as error:
        return f"the file cannot be opened ({error.strerror or error})"
    key = (status.st_size, status.st_mtime_ns)
    name = str(path)
    with _lock:
        known = _checked.get(name)
    if known is not None and known[0] == key:
        return known[1]
    try:
        pq.read_metadata(path)
        reason = None
    except Exception as error:  # pyarrow raises several types for a bad file
        reason = f"its Parquet footer cannot be read ({error})"
    with _lock:
        first_time = name not in _checked or _checked[name][1] != reason
        _checked[name] = (key, reason)
    if reason is not None and first_time:
        logger.error(
            "Leaving %s out of the query views: %s. Queries answer without its rows; restore "
            "the file from a backup or remove it from manifest.json to silence this.",
            path,
            reason,
        )
    return reason


def readable_manifest(data_dir: Path, manifest: Manifest) -> Manifest:
    """A copy of ``manifest`` without the files whose footer cannot be read.

    When any file of a span run is unreadable, that run's trace summaries are left out as
    well, so the ``traces`` view recomputes those traces from the spans that remain instead
    of counting spans nobody can read.
    """
    files = {
        dataset: [_where_it_is(data_dir, f) for f in entries]
        for dataset, entries in manifest.files.items()
    }
    spoiled_runs: set[int] = set()
    for dataset, entries in files.items():
        kept = [f for f in entries if unreadable_reason(data_dir / f.path) is None]
        if len(kept) != len(entries) and dataset in ("spans", _SUMMARIES):
            spoiled_runs |= {f.run for f in entries if f not in kept}
        files[dataset] = kept
    if spoiled_runs:
        files[_SUMMARIES] = [f for f in files[_SUMMARIES] if f.run not in spoiled_runs]
    return dataclasses.replace(manifest, files=files)


def _where_it_is(data_dir: Path, data_file: DataFile) -> DataFile:
    """``data_file``, or the same file at its ``_retired/`` path when a compaction swap moved
    it there after the manifest was read (one extra ``stat``, only for a missing file)."""
    if (data_dir / data_file.path).exists():
        return data_file
    moved = retired_path(data_file.path)
    if (data_dir / moved).exists():
        return dataclasses.replace(data_file, path=moved)
    return data_file


def unreadable_files(data_dir: Path, manifest: Manifest) -> list[tuple[str, str]]:
    """The manifest's live files that are left out of the views, with the reason for each."""
    found = []
    for entries in manifest.files.values():
        for data_file in entries:
            reason = unreadable_reason(data_dir / _where_it_is(data_dir, data_file).path)
            if reason is not None:
                found.append((data_file.path, reason))
    return found


def health_warnings(data_dir: Path) -> list[str]:
    """One sentence per live file of ``data_dir`` that the views leave out (for /healthz)."""
    try:
        manifest = read_manifest(data_dir)
    except Exception:  # noqa: BLE001 - the manifest's own faults are reported where it is read
        return []
    return [
        # /healthz is public: the file name only, the reason is in the log.
        f"warning: {path} cannot be read and is left out of the queries (see the log)."
        for path, _reason in unreadable_files(data_dir, manifest)
    ]


def forget_checks() -> None:
    """Drop remembered checks (tests that rewrite a file in place within one mtime tick)."""
    with _lock:
        _checked.clear()


__all__ = ["forget_checks", "health_warnings", "readable_manifest", "unreadable_files", "unreadable_reason"]
