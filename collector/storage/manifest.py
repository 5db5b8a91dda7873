"""The manifest: the one file that says which Parquet files are live.

``manifest.json`` in the data directory lists, per dataset (``spans``, ``assessments``,
``trace_summaries``), the
live files with their row counts and compaction level; the files compaction replaced
(``retired``, deleted after a grace period so running queries never see a file vanish); and
``wal_applied_through``, the last write-ahead segment already in Parquet (so a crash between
writing Parquet and deleting the segment cannot replay it twice).

It is replaced atomically (written to a temporary name, fsynced, renamed), so a reader sees
either the old or the new list, never a mix: a span is never visible twice or not at all.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from collector.storage.wal import fsync_directory

MANIFEST_NAME = "manifest.json"
DATASETS = ("spans", "assessments", "trace_summaries")
_FORMAT_VERSION = 1


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
    """A file compaction replaced, kept until ``retired_at`` + the grace period."""

    path: str
    retired_at: float


@dataclass
class Manifest:
    """The live file set of a data directory."""

    files: dict[str, list[DataFile]] = field(default_factory=lambda: {d: [] for d in DATASETS})
    retired: list[RetiredFile] = field(default_factory=list)
    wal_applied_through: int = 0
    next_file_number: int = 1

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
        """Swap compacted files for their merged files; the old ones become retired."""
        old_paths = {f.path for f in old}
        self.files[dataset] = [f for f in self.files[dataset] if f.path not in old_paths]
        self.files[dataset].extend(new)
        now = time.time()
        self.retired.extend(RetiredFile(path, now) for path in sorted(old_paths))

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
        )


def read_manifest(data_dir: Path) -> Manifest:
    """Return the data directory's manifest, or an empty one when there is none yet."""
    path = data_dir / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Manifest()
    return Manifest.from_json(json.loads(text))


def write_manifest(data_dir: Path, manifest: Manifest) -> None:
    """Atomically replace the data directory's manifest."""
    final = data_dir / MANIFEST_NAME
    temporary = data_dir / f".{MANIFEST_NAME}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(manifest.to_json(), handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, final)
    fsync_directory(data_dir)
