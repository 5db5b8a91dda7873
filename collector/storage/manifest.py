"""The manifest: the one file that says which Parquet files are live.

``manifest.json`` in the data directory lists, per dataset (``spans``, ``assessments``,
``trace_summaries``), the
live files with their row counts and compaction level; the files compaction replaced
(``retired``: moved into the dataset's ``_retired/`` folder, where a glob over
``<dataset>/*.parquet`` does not see them, and deleted after a grace period); and
``wal_applied_through``, the last write-ahead segment already in Parquet (so a crash between
writing Parquet and deleting the segment cannot replay it twice).

It is replaced atomically (written to a temporary name, fsynced, renamed), so a reader sees
either the old or the new list, never a mix: a span is never visible twice or not at all. The
version it replaces stays as ``manifest.json.prev`` (a hard link, no copy): if ``manifest.json``
is ever found damaged, readers fall back to it and the collector rebuilds the manifest from it
and the Parquet files on disk (``manifest_recovery``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from otel_feedback_core.files import fsync_directory
from otel_feedback_core.layout import MANIFEST_NAME


PREVIOUS_MANIFEST_NAME = "manifest.json.prev"
DATASETS = ("spans", "assessments", "trace_summaries")
# Where compaction moves the files it replaced: a sub-folder of the dataset's folder whose
# name starts with "_", which Spark, Hive and pyarrow skip and ``*.parquet`` does not enter.
RETIRED_DIR = "_retired"
_FORMAT_VERSION = 1

logger = logging.getLogger("otel_feedback_collector.storage")


def retired_path(path: str) -> str:
    """Where a live file goes when compaction retires it: ``spans/x.parquet`` becomes
    ``spans/_retired/x.parquet`` (a path relative to the data directory, like ``path``)."""
    folder, _, name = path.rpartition("/")
    return f"{folder}/{RETIRED_DIR}/{name}" if folder else f"{RETIRED_DIR}/{name}"


def is_retired_path(path: str) -> bool:
    """True for a path inside a dataset's ``_retired/`` folder."""
    return f"/{RETIRED_DIR}/" in f"/{path}"


class ManifestDamaged(ValueError):
    """A manifest file is not valid JSON or not shaped like a manifest."""


@dataclass(frozen=True)
class DataFile:
    """A live Parquet file; ``path`` is relative to the data directory.

    Files written by one flush or one merge share a ``run`` number; no key appears twice
    within a run, so readers de-duplicate only when several runs are live.
    """

    path: str
    rows: int
    level: int
    run: int = 0


@dataclass(frozen=True)
class RetiredFile:
    """A file compaction replaced, kept in ``<dataset>/_retired/`` until ``retired_at`` + the
    grace period (manifests written before that folder existed list it at its old path)."""

    path: str
    retired_at: float


@dataclass
class Manifest:
    """The live file set of a data directory."""

    files: dict[str, list[DataFile]] = field(default_factory=lambda: {d: [] for d in DATASETS})
    retired: list[RetiredFile] = field(default_factory=list)
    wal_applied_through: int = 0
    next_file_number: int = 1
    # True while no span key is in two live runs: the writer checks each flush against what is
    # stored (trace_index.py), so readers need not de-duplicate spans. False for a directory
    # written by an older version, until a check at start-up or a full compaction proves it.
    disjoint_spans: bool = True

    def take_file_number(self) -> int:
        """Return a file number no other file of this data directory has used."""
        number = self.next_file_number
        self.next_file_number += 1
        return number

    def add(self, dataset: str, data_file: DataFile) -> None:
        """Make a file live."""
        self.files[dataset].append(data_file)

    def runs_with_summaries(self) -> set[int]:
        """The span runs whose trace summaries are live (a run's summaries cover all its
        span files)."""
        return {data_file.run for data_file in self.files["trace_summaries"]}

    def replace(self, dataset: str, old: Iterable[DataFile], new: Iterable[DataFile]) -> None:
        """Swap compacted files for their merged files; the old ones become retired, listed at
        their path in the ``_retired/`` folder (the swap moves them there, see swap.py)."""
        old_paths = {f.path for f in old}
        self.files[dataset] = [f for f in self.files[dataset] if f.path not in old_paths]
        self.files[dataset].extend(new)
        now = time.time()
        self.retired.extend(RetiredFile(retired_path(path), now) for path in sorted(old_paths))

    def to_json(self) -> dict[str, Any]:
        """Return the manifest as JSON-ready data."""
        return {
            "format_version": _FORMAT_VERSION,
            "wal_applied_through": self.wal_applied_through,
            "next_file_number": self.next_file_number,
            "datasets": {
                name: [asdict(f) for f in files] for name, files in self.files.items()
            },
            "retired": [asdict(r) for r in self.retired],
            "disjoint_spans": self.disjoint_spans,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        """Parse manifest data written by ``to_json``."""
        version = data.get("format_version")
        if version != _FORMAT_VERSION:
            raise ValueError(
                f"The manifest has format version {version!r}; this otel-feedback reads "
                f"version {_FORMAT_VERSION}. Upgrade otel-feedback to read this data directory."
            )
        files = {name: [] for name in DATASETS}
        for name, entries in data.get("datasets", {}).items():
            files[name] = [DataFile(**entry) for entry in entries]
        return cls(
            files=files,
            retired=[RetiredFile(**entry) for entry in data.get("retired", [])],
            wal_applied_through=int(data.get("wal_applied_through", 0)),
            next_file_number=int(data.get("next_file_number", 1)),
            disjoint_spans=bool(data.get("disjoint_spans", not files["spans"])),
        )


def parse_manifest(path: Path) -> Manifest | None:
    """Read one manifest file; None when it does not exist, ``ManifestDamaged`` when it is not
    a manifest (a newer format version raises a plain ValueError: that is not damage)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as error:  # not JSON, or not UTF-8
        raise ManifestDamaged(f"{path} is damaged ({error})") from error
    if not isinstance(data, dict):
        raise ManifestDamaged(f"{path} is damaged (its top level is not a JSON object)")
    if data.get("format_version") not in (_FORMAT_VERSION, None):
        return Manifest.from_json(data)  # raises the plain "upgrade otel-feedback" error
    try:
        return Manifest.from_json(data)
    except (TypeError, KeyError, ValueError, AttributeError) as error:
        raise ManifestDamaged(f"{path} is damaged ({error})") from error


def read_manifest(data_dir: Path) -> Manifest:
    """Return the data directory's manifest, or an empty one when there is none yet.

    A damaged ``manifest.json`` falls back to ``manifest.json.prev`` (read-only: the files of
    the last flush are then not listed until the collector repairs the manifest at its start).
    """
    path = data_dir / MANIFEST_NAME
    try:
        manifest = parse_manifest(path)
    except ManifestDamaged as damage:
        previous = _intact_previous(data_dir)
        if previous is None:
            raise ManifestDamaged(
                f"The manifest {damage} and there is no intact {PREVIOUS_MANIFEST_NAME} beside "
                f"it. Start `otel-feedback serve --data {data_dir}` once: it rebuilds the "
                "manifest from the Parquet files in the data directory."
            ) from damage
        logger.error(
            "MANIFEST DAMAGED: %s; reading %s instead (start the collector to repair it).",
            damage, PREVIOUS_MANIFEST_NAME,
        )
        return previous
    return manifest if manifest is not None else Manifest()


def _intact_previous(data_dir: Path) -> Manifest | None:
    try:
        return parse_manifest(data_dir / PREVIOUS_MANIFEST_NAME)
    except ValueError:
        return None


def _keep_previous(final: Path, backup: Path, previous: Path) -> None:
    """Keep the current manifest as ``manifest.json.prev`` (best effort: the backup only helps
    repair, so a file system without hard links still gets its manifest written)."""
    try:
        backup.unlink(missing_ok=True)
        os.link(final, backup)  # a second name for the current version: no bytes copied
        os.replace(backup, previous)
    except OSError as error:
        backup.unlink(missing_ok=True)
        logger.warning("Could not keep the previous manifest as %s: %s", previous, error)


def write_manifest(data_dir: Path, manifest: Manifest) -> None:
    """Atomically replace the data directory's manifest, keeping the replaced one as
    ``manifest.json.prev``. On failure (disk full) nothing changes and no temporary is left."""
    final = data_dir / MANIFEST_NAME
    temporary = data_dir / f".{MANIFEST_NAME}.{os.getpid()}.tmp"
    backup = data_dir / f".{PREVIOUS_MANIFEST_NAME}.{os.getpid()}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(manifest.to_json(), handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        if final.exists():
            _keep_previous(final, backup, data_dir / PREVIOUS_MANIFEST_NAME)
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        backup.unlink(missing_ok=True)
        raise
    fsync_directory(data_dir)
