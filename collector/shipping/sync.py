"""One shipping pass: copy a data directory's finished Parquet files to object storage.

The bucket stays readable at every moment, for a reader of the shipped manifest and (with one
caveat) for a reader that globs the bucket. A pass runs in this order:

1. Read the data directory's manifest (the live files; a file is immutable once listed).
2. Upload every live file the bucket does not hold yet, under the same relative path
   (``<prefix>/spans/spans-L1-00000012.parquet``). An object appears only when its upload
   completes, so no reader sees half a file.
3. Write the shipped manifest, ``<prefix>/manifest.json`` (the same format as the data
   directory's), listing exactly those files: a reader of it sees each row once.
4. Delete the objects of files that left the live set (compaction merged them) once they have
   been out of the shipped manifest for ``grace`` seconds, so a reader that fetched the previous
   manifest just before step 3 can still open its files. Until then the shipped manifest lists
   them under ``retired``.

The caveat: between steps 2 and 4 a glob over ``<prefix>/spans/*.parquet`` sees a merged file
and the files it replaced, i.e. some rows twice. Readers either read the shipped manifest
(:func:`shipped_files`) or de-duplicate by key (``trace_id, span_id`` for spans,
``assessment_id`` for assessments). Deleting the inputs first would instead make files listed
by the current shipped manifest disappear, which no reader can recover from.

Only the collector's own files are read; the collector keeps running and writing meanwhile
(a pass takes no lock). A failure leaves the bucket as the last complete pass left it, plus
perhaps some uploaded objects no manifest lists yet (the next pass lists or deletes them).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.fs as pafs

from otel_feedback_collector.shipping.destination import BucketMissing, Destination
from otel_feedback_collector.storage.manifest import DATASETS, Manifest, RetiredFile, read_manifest, retired_path
from otel_feedback_core.layout import MANIFEST_NAME

DEFAULT_GRACE_SECONDS = 300.0
"""How long the objects of retired files stay in the bucket after leaving the shipped manifest
(the collector's own grace period for ``_retired/`` files is the same)."""

logger = logging.getLogger("otel_feedback_collector.shipping")


class ShipError(RuntimeError):
    """A pass could not complete because of the data directory (not the store); the message says why."""


@dataclass
class ShipResult:
    """What one pass did."""

    uploaded: list[str] = field(default_factory=list)
    already_shipped: int = 0
    deleted: list[str] = field(default_factory=list)
    awaiting_deletion: int = 0

    def summary(self) -> str:
        """One line for the log."""
        return (
            f"uploaded {len(self.uploaded)} file(s), {self.already_shipped} already shipped, "
            f"deleted {len(self.deleted)} retired object(s), {self.awaiting_deletion} awaiting their grace period"
        )


def ship_once(
    data_dir: Path,
    destination: Destination,
    filesystem: pafs.FileSystem,
    *,
    grace: float = DEFAULT_GRACE_SECONDS,
    clock: Callable[[], float] = time.time,
) -> ShipResult:
    """Run one pass (see the module docstring). Store errors raise ``OSError`` (give them to
    ``describe_store_error``); a data directory that changed under the pass raises ``ShipError``."""
    data_dir = Path(data_dir)
    if not (data_dir / MANIFEST_NAME).is_file():
        raise ShipError(f"{data_dir} is not a data directory (no {MANIFEST_NAME}): give the --data of a collector.")
    _check_bucket(destination, filesystem)
    local = read_manifest(data_dir)
    shipped = read_shipped_manifest(destination, filesystem)
    present = _objects(destination, filesystem)
    result = ShipResult()

    live = {data_file.path for files in local.files.values() for data_file in files}
    for path in sorted(live):
        source = _local_file(data_dir, path)
        if present.get(path) == source.stat().st_size:
            result.already_shipped += 1
            continue
        _upload(source, filesystem, destination.key(path))
        result.uploaded.append(path)

    now = clock()
    # Objects out of the live set: those the last shipped manifest listed (live or retired), and
    # any other data file in the bucket (uploaded by a pass that failed before its manifest).
    waiting = {retired.path: retired.retired_at for retired in (shipped.retired if shipped else [])}
    previously_live = {f.path for files in shipped.files.values() for f in files} if shipped else set()
    for path in sorted((previously_live | set(present)) - live):
        if _is_data_file(path):
            waiting.setdefault(path, now)
    due = sorted(path for path, since in waiting.items() if now - since >= grace)
    keep = [RetiredFile(path, since) for path, since in sorted(waiting.items()) if path not in due]

    _write_shipped_manifest(destination, filesystem, local, keep)
    for path in due:
        _delete(filesystem, destination.key(path))
        result.deleted.append(path)
    result.awaiting_deletion = len(keep)
    return result


def read_shipped_manifest(destination: Destination, filesystem: pafs.FileSystem) -> Manifest | None:
    """The shipped manifest at ``destination``, or None when there is none (or it is damaged:
    the next pass writes a whole new one)."""
    try:
        with filesystem.open_input_stream(destination.key(MANIFEST_NAME)) as stream:
            data = stream.read()
    except FileNotFoundError:
        return None
    try:
        return Manifest.from_json(json.loads(data))
    except (ValueError, TypeError, KeyError) as error:
        logger.warning("The shipped manifest at %s is damaged (%s); the next pass replaces it.",
                       destination.key(MANIFEST_NAME), error)
        return None


def shipped_files(destination: Destination, filesystem: pafs.FileSystem) -> dict[str, list[str]]:
    """Per dataset, the file-system paths of the files the shipped manifest lists (empty lists
    when nothing was shipped yet): give them to ``pyarrow.dataset.dataset(..., filesystem=...)``."""
    shipped = read_shipped_manifest(destination, filesystem)
    files = shipped.files if shipped else {name: [] for name in DATASETS}
    return {name: [destination.key(f.path) for f in entries] for name, entries in files.items()}


def _check_bucket(destination: Destination, filesystem: pafs.FileSystem) -> None:
    """Raise an OSError naming the missing bucket: uploads to it would fail one by one."""
    if filesystem.get_file_info(destination.bucket).type == pafs.FileType.NotFound:
        raise BucketMissing()


def _objects(destination: Destination, filesystem: pafs.FileSystem) -> dict[str, int]:
    """Every object under the destination: path relative to the prefix -> size."""
    selector = pafs.FileSelector(destination.root, recursive=True, allow_not_found=True)
    start = len(destination.root) + 1
    return {
        info.path[start:]: int(info.size or 0)
        for info in filesystem.get_file_info(selector)
        if info.type == pafs.FileType.File
    }


def _is_data_file(path: str) -> bool:
    """A dataset's Parquet file (``spans/x.parquet``), not the manifest or a foreign object."""
    dataset, _, name = path.partition("/")
    return dataset in DATASETS and name.endswith(".parquet") and "/" not in name


def _local_file(data_dir: Path, path: str) -> Path:
    """The live file, or where compaction moved it since the manifest was read (same bytes)."""
    for candidate in (data_dir / path, data_dir / retired_path(path)):
        if candidate.is_file():
            return candidate
    raise ShipError(
        f"{path} left {data_dir} while it was being shipped (a compaction finished and its grace "
        "period ended); run the pass again."
    )


def _upload(source: Path, filesystem: pafs.FileSystem, key: str) -> None:
    # The whole file is read before the upload starts (flush and compaction files are at most
    # tens of MB), so a local read error can never complete an upload of half a file: closing
    # the output stream is what makes the object appear.
    data = source.read_bytes()
    with filesystem.open_output_stream(key) as stream:
        stream.write(data)


def _write_shipped_manifest(
    destination: Destination, filesystem: pafs.FileSystem, local: Manifest, retired: list[RetiredFile]
) -> None:
    shipped = Manifest(
        files={name: list(files) for name, files in local.files.items()},
        retired=retired,
        wal_applied_through=local.wal_applied_through,
        next_file_number=local.next_file_number,
        disjoint_spans=local.disjoint_spans,
    )
    body = json.dumps(shipped.to_json(), indent=1).encode("utf-8")
    with filesystem.open_output_stream(destination.key(MANIFEST_NAME)) as stream:
        stream.write(body)


def _delete(filesystem: pafs.FileSystem, key: str) -> None:
    try:
        filesystem.delete_file(key)
    except FileNotFoundError:
        pass  # deleted by an earlier pass that failed before writing its manifest
