"""The write-ahead log: what makes an acknowledged export survive ``kill -9``.

Records are appended to numbered segment files (``wal/segment-000000000001.wal``), each framed
as ``magic | kind | length | crc32 | payload``. ``append`` writes the frame; ``wait_durable``
returns once an ``fdatasync`` covered it. Concurrent writers share fsyncs (group commit): the
first waiter becomes the leader and syncs everything written so far, the others wait for it.

The store's writer thread calls ``rotate`` to seal the current segment (synced, closed) and
start a new one; once the sealed segments' records are in Parquet it deletes them. On start-up
``read_segment`` replays each leftover segment; a frame that is cut short or fails its checksum
ends the intact prefix, and the caller sets the file aside.
"""

from __future__ import annotations

import enum
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

_MAGIC = b"OFW1"
_HEADER = struct.Struct("<4sBII")  # magic, kind, payload length, crc32 of payload
_SEGMENT_PREFIX = "segment-"
_SEGMENT_SUFFIX = ".wal"


class RecordKind(enum.IntEnum):
    """What a WAL record's payload holds."""

    TRACES = 1  # a serialized OTLP ExportTraceServiceRequest
    ASSESSMENTS = 2  # a JSON list of assessment records


class WalRecord(NamedTuple):
    """One intact record read back from a segment."""

    kind: RecordKind
    payload: bytes


class SegmentContents(NamedTuple):
    """The intact records of a segment and, when its tail is damaged, why."""

    records: list[WalRecord]
    damage: str | None


def encode_frame(kind: RecordKind, payload: bytes) -> bytes:
    """Return the framed bytes of one record."""
    return _HEADER.pack(_MAGIC, int(kind), len(payload), zlib.crc32(payload)) + payload


def read_segment(path: Path) -> SegmentContents:
    """Read every intact record of a segment, stopping at the first damaged frame."""
    reader = SegmentReader(path)
    records = list(reader)
    return SegmentContents(records, reader.damage)


class SegmentReader:
    """Iterates over the intact records of a segment, reading one frame at a time (the
    segment is never held in memory whole). After iteration, ``damage`` says why the tail is
    damaged, or is None."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.damage: str | None = None

    def __iter__(self) -> Iterator[WalRecord]:
        with open(self.path, "rb") as handle:
            offset = 0
            while True:
                header = handle.read(_HEADER.size)
                if not header:
                    return
                if len(header) < _HEADER.size:
                    self.damage = f"truncated frame header at byte {offset}"
                    return
                magic, kind, length, checksum = _HEADER.unpack(header)
                if magic != _MAGIC:
                    self.damage = f"bad frame marker at byte {offset}"
                    return
                payload = handle.read(length)
                if len(payload) != length:
                    self.damage = f"truncated record at byte {offset}"
                    return
                if zlib.crc32(payload) != checksum:
                    self.damage = f"checksum mismatch at byte {offset}"
                    return
                try:
                    record_kind = RecordKind(kind)
                except ValueError:
                    self.damage = f"unknown record kind {kind} at byte {offset}"
                    return
                yield WalRecord(record_kind, payload)
                offset += _HEADER.size + length


def list_segments(directory: Path) -> list[Path]:
    """Return the segment files in a WAL directory, oldest first."""
    return sorted(
        path
        for path in directory.glob(f"{_SEGMENT_PREFIX}*{_SEGMENT_SUFFIX}")
        if path.is_file()
    )


def fsync_directory(directory: Path) -> None:
    """Make renames and new files in a directory durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WriteAheadLog:
    """Append-only, checksummed, group-committed log segments in one directory."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._lock = threading.Lock()  # guards the current segment and the written counter
        self._sync = threading.Condition()  # guards the synced counter and the leader flag
        self._fd = -1
        self._segment_number = 0
        self._segment_path: Path | None = None
        self._sealed: list[Path] = []
        self._written = 0
        self._synced = 0
        self._leader_active = False
        self._segment_bytes = 0

    @property
    def segment_bytes(self) -> int:
        """Bytes written to the current segment."""
        return self._segment_bytes

    def open(self, *, first_segment_number: int) -> None:
        """Start a fresh segment numbered after every existing one."""
        self._directory.mkdir(parents=True, exist_ok=True)
        self._segment_number = first_segment_number - 1
        self._start_segment()

    def append(self, kind: RecordKind, payload: bytes) -> int:
        """Write one record (not yet durable) and return its sequence number."""
        frame = encode_frame(kind, payload)
        with self._lock:
            if self._fd < 0:
                raise RuntimeError("The write-ahead log is closed; open the store first.")
            view = memoryview(frame)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self._segment_bytes += len(frame)
            self._written += 1
            return self._written

    def wait_durable(self, sequence: int) -> None:
        """Block until the record with this sequence number is on disk (group commit)."""
        with self._sync:
            while self._synced < sequence:
                if not self._leader_active:
                    self._leader_active = True
                    break
                self._sync.wait()
            else:
                return
        # This thread leads: one fdatasync covers everything written before it started.
        try:
            with self._lock:
                target = self._written
                fd = self._fd
            if fd >= 0:
                os.fdatasync(fd)
        finally:
            with self._sync:
                self._leader_active = False
                if fd >= 0:
                    self._synced = max(self._synced, target)
                self._sync.notify_all()
        if fd < 0:
            raise RuntimeError("The write-ahead log was closed before the record was synced.")
        if self._synced < sequence:  # pragma: no cover - a rotation raced ahead of us
            self.wait_durable(sequence)

    def rotate(self) -> list[Path]:
        """Seal the current segment (synced and closed), start a new one, and return every
        sealed segment not yet released. The caller must hold off appends meanwhile."""
        with self._sync:
            while self._leader_active:
                self._sync.wait()
            self._leader_active = True
        try:
            with self._lock:
                if self._segment_bytes > 0:
                    os.fdatasync(self._fd)
                    os.close(self._fd)
                    self._sealed.append(self._segment_path)  # type: ignore[arg-type]
                    target = self._written
                    self._start_segment()
                else:
                    target = self._written
        finally:
            with self._sync:
                self._synced = max(self._synced, target)
                self._leader_active = False
                self._sync.notify_all()
        return list(self._sealed)

    def release(self, segments: list[Path]) -> None:
        """Delete sealed segments whose records are safely stored elsewhere."""
        for path in segments:
            path.unlink(missing_ok=True)
            if path in self._sealed:
                self._sealed.remove(path)
        fsync_directory(self._directory)

    def close(self) -> None:
        """Sync and close the current segment; idempotent."""
        with self._lock:
            if self._fd >= 0:
                os.fdatasync(self._fd)
                os.close(self._fd)
                self._fd = -1
                if self._segment_bytes == 0 and self._segment_path is not None:
                    self._segment_path.unlink(missing_ok=True)
        with self._sync:
            self._synced = self._written
            self._sync.notify_all()

    def _start_segment(self) -> None:
        self._segment_number += 1
        name = f"{_SEGMENT_PREFIX}{self._segment_number:012d}{_SEGMENT_SUFFIX}"
        self._segment_path = self._directory / name
        self._fd = os.open(
            self._segment_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o644
        )
        self._segment_bytes = 0
        fsync_directory(self._directory)


def segment_number(path: Path) -> int:
    """Return the number in a segment's file name."""
    return int(path.name[len(_SEGMENT_PREFIX) : -len(_SEGMENT_SUFFIX)])
