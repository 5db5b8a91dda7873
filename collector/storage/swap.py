"""Compaction's swap: its inputs leave the globbed folder before its merged files appear.

Outside engines read a dataset by globbing ``<dataset>/*.parquet`` (DuckDB ``read_parquet``,
``pyarrow.dataset``, Spark). So that such a glob never sees a row twice, the inputs of a merge
and its outputs are never under ``*.parquet`` names in that folder at the same time. The order,
each step durable (fsynced) before the next:

1. The merge writes its outputs under hidden pending names (``.<name>.tmp``) and fsyncs them
   (datasets.py). Globs skip ``.`` names.
2. ``swap_files``: the inputs are renamed into ``<dataset>/_retired/`` (Spark, Hive and pyarrow
   skip ``_`` names; ``*.parquet`` does not descend into folders) and the folders fsynced.
   From here until step 3 a glob sees fewer rows, never more.
3. The outputs are renamed to their final ``*.parquet`` names, folders fsynced.
4. The manifest is published (the store's ``publish``): the outputs live, the inputs retired
   at their ``_retired/`` path; they are deleted there after the grace period.

Until step 4 the manifest on disk still lists the inputs at their old paths, so a crash before
it is *undone* at start-up: outputs no manifest lists are deleted first (the store's
``_remove_unpublished_files``), then ``restore_live_files`` moves every live file found in
``_retired/`` back; the merge runs again later. Undone rather than finished because the
outputs' manifest entries (rows, run) were never written. Nothing is lost: inputs are only
renamed, and deleted only after a published manifest retired them and the grace period passed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from otel_feedback_collector.storage.datasets import pending_file
from otel_feedback_collector.storage.manifest import (
    RETIRED_DIR,
    Manifest,
    RetiredFile,
    is_retired_path,
    retired_path,
)
from otel_feedback_core.files import fsync_directory

logger = logging.getLogger("otel_feedback_collector.storage")


def _no_op(step: str) -> None:
    return None


# Test seam: called with a step's name once that step is durable ("input retired" after each
# input, "inputs retired", "output published" after each output, "outputs published",
# "manifest published"). The crash tests (tests/collector/storage/test_swap_crash.py) kill the
# process there, or raise to stand in for a failed rename; it does nothing otherwise.
after_step: Callable[[str], None] = _no_op


def swap_files(
    data_dir: Path, *, retiring: list[str], merged: list[str], publish: Callable[[], None]
) -> None:
    """Steps 2 to 4: move ``retiring`` (live paths) into ``_retired/``, rename the pending
    ``merged`` files into place, then call ``publish`` (write the manifest that lists them).
    On failure what was done is undone and the error raised; the pending files stay for the
    caller to ``discard_pending``."""
    moved: list[str] = []
    published: list[str] = []
    try:
        for path in retiring:
            aside = data_dir / retired_path(path)
            if not aside.parent.is_dir():
                aside.parent.mkdir()
                fsync_directory(aside.parent.parent)
            os.replace(data_dir / path, aside)
            moved.append(path)
            after_step("input retired")
        _fsync_folders(data_dir, [*retiring, *map(retired_path, retiring)])
        after_step("inputs retired")
        for path in merged:
            os.replace(pending_file(data_dir, path), data_dir / path)
            published.append(path)
            after_step("output published")
        _fsync_folders(data_dir, merged)
        after_step("outputs published")
        publish()
    except BaseException:
        undo_swap(data_dir, retired=moved, published=published)
        raise
    after_step("manifest published")


def undo_swap(data_dir: Path, *, retired: list[str], published: list[str]) -> None:
    """Put a swap back (its manifest was not published): the outputs go first, then the inputs
    return, so a glob never sees both. Best effort: start-up finishes what fails here."""
    try:
        for path in published:
            (data_dir / path).unlink(missing_ok=True)
        _fsync_folders(data_dir, published)
        for path in retired:
            os.replace(data_dir / retired_path(path), data_dir / path)
        _fsync_folders(data_dir, retired)
    except OSError as error:
        logger.error(
            "Could not undo a compaction swap in %s (%s). Restart the collector: start-up "
            "moves the files back from the _retired folders.", data_dir, error,
        )


def discard_pending(data_dir: Path, paths: Iterable[str]) -> None:
    """Delete the pending (never renamed) outputs of a merge that was not swapped in."""
    for path in paths:
        pending_file(data_dir, path).unlink(missing_ok=True)


def restore_live_files(data_dir: Path, manifest: Manifest) -> int:
    """Start-up, after unlisted outputs were removed: move back every live file a crash left in
    ``_retired/`` (a swap whose manifest was never published). Returns how many moved."""
    restored: list[str] = []
    for files in manifest.files.values():
        for data_file in files:
            live = data_dir / data_file.path
            aside = data_dir / retired_path(data_file.path)
            if not live.exists() and aside.exists():
                os.replace(aside, live)
                restored.append(data_file.path)
    if restored:
        _fsync_folders(data_dir, [*restored, *map(retired_path, restored)])
        logger.warning(
            "Undid a compaction that a crash interrupted: %d live file(s) moved back from "
            "the _retired folders; the merge runs again.", len(restored),
        )
    return len(restored)


def return_unlisted_retired(data_dir: Path, manifest: Manifest) -> int:
    """Manifest repair: move every file of a ``_retired/`` folder that ``manifest`` (the backup)
    neither lists nor retires back into its dataset folder, where the repair adopts it. It was
    live or retired in the damaged version; back in the folder it is never lost, at worst a
    duplicate of a merge the views de-duplicate. Returns how many moved."""
    moved: list[str] = []
    for dataset in manifest.files:
        for path in unlisted_retired_files(data_dir, manifest, dataset):
            os.replace(path, data_dir / dataset / path.name)
            moved.append(f"{dataset}/{path.name}")
    _fsync_folders(data_dir, [*moved, *map(retired_path, moved)])
    return len(moved)


def move_legacy_retired(data_dir: Path, retired: list[RetiredFile]) -> list[RetiredFile] | None:
    """Retired files listed at their old path (by a version without ``_retired/``) moved there,
    out of the globbed folder. Returns the new entries, or None when none needed moving."""
    if all(is_retired_path(entry.path) for entry in retired):
        return None
    updated: list[RetiredFile] = []
    moved: list[str] = []
    for entry in retired:
        if is_retired_path(entry.path):
            updated.append(entry)
            continue
        target = retired_path(entry.path)
        source = data_dir / entry.path
        if source.exists():
            (data_dir / target).parent.mkdir(exist_ok=True)
            os.replace(source, data_dir / target)
            moved.append(entry.path)
        updated.append(RetiredFile(target, entry.retired_at))
    _fsync_folders(data_dir, [*moved, *map(retired_path, moved)])
    return updated


def unlisted_retired_files(data_dir: Path, manifest: Manifest, dataset: str) -> list[Path]:
    """Files in ``<dataset>/_retired/`` that the manifest neither retires nor lists live (so no
    undo needs them), e.g. after a crash during ``move_legacy_retired``: safe to delete."""
    folder = data_dir / dataset / RETIRED_DIR
    if not folder.is_dir():
        return []
    listed = {entry.path for entry in manifest.retired}
    listed.update(retired_path(f.path) for files in manifest.files.values() for f in files)
    return [
        path for path in folder.iterdir()
        if path.is_file() and f"{dataset}/{RETIRED_DIR}/{path.name}" not in listed
    ]


def _fsync_folders(data_dir: Path, paths: Iterable[str]) -> None:
    for folder in sorted({(data_dir / path).parent for path in paths}):
        if folder.is_dir():
            fsync_directory(folder)
