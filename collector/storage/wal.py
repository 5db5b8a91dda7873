"""The write-ahead log: what makes an acknowledged export survive ``kill -9``.

Records are appended to numbered segment files (``wal/segment-000000000001.wal``), each framed
as ``magic | kind | length | crc32 | payload``. ``append`` writes the frame; ``wait_durable``
returns once an ``fdatasync`` covered it. Concurrent writers share fsyncs (group commit): the
first waiter becomes the leader and syncs everything written so far, the others wait for it.

Faults never leave the log inconsistent or acknowledge what is not durable:

- a write cut short (disk full) is cut back off the file (``ftruncate`` to the frame's start),
  so no partial frame ever sits before later frames; the caller gets ``StoreUnavailable``;
- a failed ``fdatasync`` fails every record it covered, for the leader and for every waiter;
  the segment is then sealed and never synced again (after a failed fsync the kernel may have
  dropped the dirty pages and report success next time: "fsyncgate");
- a segment that cannot be created (no space, no inodes) leaves the log without a current
  segment: appends answer ``StoreUnavailable`` and the next append tries again. The file
  descriptor is set to -1 the moment it is closed, so a number the kernel hands out again is
  never written to.

The store's writer thread calls ``rotate`` to seal the current segment (synced, closed); the
next append starts a new one. Once the sealed segments' records are in Parquet it deletes them.
On start-up ``SegmentReader`` replays each leftover segment; past a damaged frame it scans
forward for the next intact one, so one bad frame costs only its own bytes.
"""

from __future__ import annotations

import enum
import errno
import logging
import mmap
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from otel_feedback_collector.storage.errors import StoreUnavailable
from otel_feedback_core.files import fsync_directory

logger = logging.getLogger("otel_feedback_collector.storage")

_MAGIC = b"OFW1"
_HEADER = struct.Struct("<4sBII")  # magic, kind, payload length, crc32 of payload
_SEGMENT_PREFIX = "segment-"
_SEGMENT_SUFFIX = ".wal"
# Seconds a sender is asked to wait after a disk fault; space rarely returns faster.
_FAULT_RETRY_AFTER = 5.0
# A segment being read gives its read pages back to the system in steps of this size.
_RELEASE_BYTES = 4 * 1024 * 1024


class RecordKind(enum.IntEnum):
    """What a WAL record's payload holds."""

    TRACES = 1  # a serialized OTLP ExportTraceServiceRequest
    ASSESSMENTS = 2  # a JSON list of assessment records


class WalRecord(NamedTuple):
    """One intact record read back from a segment."""

    kind: RecordKind
    payload: bytes


class SegmentContents(NamedTuple):
    """The intact records of a segment and, when parts of it are damaged, what was skipped."""

    records: list[WalRecord]
    damage: str | None


def encode_frame(kind: RecordKind, payload: bytes) -> bytes:
    """Return the framed bytes of one record."""
    return _HEADER.pack(_MAGIC, int(kind), len(payload), zlib.crc32(payload)) + payload


def read_segment(path: Path) -> SegmentContents:
    """Read every intact record of a segment, skipping damaged stretches."""
    reader = SegmentReader(path)
    records = list(reader)
    return SegmentContents(records, reader.damage)


class SegmentReader:
    """Iterates over the intact records of a segment (memory-mapped, never read whole).

    A frame that is cut short, has a bad marker, an impossible length, an unknown kind or a
    checksum mismatch does not end the segment: the reader scans forward for the next offset
    where a whole valid frame starts (marker, known kind, a length that fits, matching crc32)
    and carries on from there. After iteration ``damage`` describes what was skipped (None when
    nothing was), ``skipped_bytes`` counts the bytes set aside and ``damaged_stretches`` how
    many separate stretches they form.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.damage: str | None = None
        self.skipped_bytes = 0
        self.damaged_stretches = 0
        self.records_read = 0

    def __iter__(self) -> Iterator[WalRecord]:
        with open(self.path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                return
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                yield from self._frames(data, size)

    def _frames(self, data: mmap.mmap, size: int) -> Iterator[WalRecord]:
        reasons: list[str] = []
        offset = 0
        released = 0
        while offset < size:
            record, problem = _frame_at(data, offset, size)
            if record is not None:
                self.records_read += 1
                yield record
                offset += _HEADER.size + len(record.payload)
                released = _release_pages(data, released, offset)
                continue
            # Resynchronise: the next offset where a whole valid frame starts.
            resume = _next_frame(data, offset + 1, size)
            skipped = resume - offset
            self.skipped_bytes += skipped
            self.damaged_stretches += 1
            if len(reasons) < 5:
                reasons.append(f"{problem} at byte {offset}, {skipped} bytes skipped")
            offset = resume
        if reasons:
            more = self.damaged_stretches - len(reasons)
            self.damage = "; ".join(reasons) + (f"; and {more} more damaged stretches" if more else "")


def _release_pages(data: mmap.mmap, released: int, offset: int) -> int:
    """Drop the mapped pages before ``offset`` (read already) from the process; returns the
    new release mark. The mapping's pages count in the collector's resident memory, and a
    writer that fell behind reads hundreds of MB of segments: without this, all of it would
    stay resident until the segment is closed. The file's pages stay in the page cache."""
    end = offset - offset % mmap.PAGESIZE
    if end - released >= _RELEASE_BYTES:
        data.madvise(mmap.MADV_DONTNEED, released, end - released)
        return end
    return released


def _frame_at(data: mmap.mmap, offset: int, size: int) -> tuple[WalRecord | None, str]:
    """The valid frame starting at ``offset``, or None and why there is none."""
    if size - offset < _HEADER.size:
        return None, "truncated frame header"
    magic, kind, length, checksum = _HEADER.unpack_from(data, offset)
    if magic != _MAGIC:
        return None, "bad frame marker"
    start = offset + _HEADER.size
    if length > size - start:
        return None, "truncated record"
    try:
        record_kind = RecordKind(kind)
    except ValueError:
        return None, f"unknown record kind {kind}"
    payload = data[start : start + length]
    if zlib.crc32(payload) != checksum:
        return None, "checksum mismatch"
    return WalRecord(record_kind, payload), ""


def _next_frame(data: mmap.mmap, start: int, size: int) -> int:
    """The first offset at or after ``start`` where a valid frame begins, else ``size``.

    A payload could itself contain a well-formed frame (a span attribute holding WAL bytes); if
    the frame around it is damaged, that inner frame is replayed as a record of its own. It is
    data a client could have sent directly, so this grants nothing.
    """
    position = start
    while True:
        position = data.find(_MAGIC, position, size)
        if position < 0:
            return size
        if _frame_at(data, position, size)[0] is not None:
            return position
        position += 1


def list_segments(directory: Path) -> list[Path]:
    """Return the segment files in a WAL directory, oldest first."""
    return sorted(
        path
        for path in directory.glob(f"{_SEGMENT_PREFIX}*{_SEGMENT_SUFFIX}")
        if path.is_file()
    )


class WriteAheadLog:
    """Append-only, checksummed, group-committed log segments in one directory.

    ``sync_file`` is the call that makes a file's data durable (``os.fdatasync``); it is a
    parameter only so tests can make it fail, since a real failing fsync cannot be produced
    on demand.

    Sequence numbers: every appended record gets the next one. ``_resolved`` is the highest
    number whose outcome is known: durable, unless it lies in one of ``_failures`` (ranges of
    records a failed sync or an abandoned segment covered).
    """

    def __init__(
        self, directory: Path, *, sync_file: Callable[[int], None] = os.fdatasync
    ) -> None:
        self._directory = directory
        self._sync_file = sync_file
        self._lock = threading.Lock()  # guards the current segment and the written counter
        self._sync = threading.Condition()  # guards _resolved, _failures and the leader flag
        # Lock order: _lock before _sync, never the other way round.
        self._fd = -1
        self._open = False
        self._segment_number = 0
        self._segment_path: Path | None = None
        self._sealed: list[Path] = []
        self._written = 0
        self._resolved = 0
        self._failures: list[tuple[int, int, str]] = []
        self._leader_active = False
        self._segment_bytes = 0

    @property
    def segment_bytes(self) -> int:
        """Bytes written to the current segment."""
        return self._segment_bytes

    def open(self, *, first_segment_number: int) -> None:
        """Make the log writable; the first append creates a segment numbered after every
        existing one (created lazily, so a full disk does not stop start-up)."""
        self._directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._segment_number = first_segment_number - 1
            self._open = True

    def append(self, kind: RecordKind, payload: bytes) -> int:
        """Write one record (not yet durable) and return its sequence number.

        Raises ``StoreUnavailable`` when the record could not be written (nothing of it stays
        in the log).
        """
        frame = encode_frame(kind, payload)
        with self._lock:
            if not self._open:
                raise RuntimeError("The write-ahead log is closed; open the store first.")
            if self._fd < 0:
                self._start_segment()
            start = self._segment_bytes
            view = memoryview(frame)
            try:
                while view:
                    written = os.write(self._fd, view)
                    if written == 0:  # no progress: as good as a full disk, never a busy loop
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    view = view[written:]
            except OSError as error:
                self._undo_partial_write(start, error)
                raise StoreUnavailable(
                    f"The collector could not write to its write-ahead log in {self._directory} "
                    f"({error.strerror or error}); nothing of this request was stored. Free disk "
                    "space there, then retry.",
                    retry_after=_FAULT_RETRY_AFTER,
                ) from error
            self._segment_bytes += len(frame)
            self._written += 1
            return self._written

    def wait_durable(self, sequence: int) -> None:
        """Block until the record with this sequence number is on disk (group commit).

        Raises ``StoreUnavailable`` when the sync that covered it failed, whichever thread ran it.
        """
        while True:
            with self._sync:
                while True:
                    failure = self._failure_of(sequence)
                    if failure is not None:
                        raise StoreUnavailable(failure, retry_after=_FAULT_RETRY_AFTER)
                    if self._resolved >= sequence:
                        return
                    if not self._leader_active:
                        self._leader_active = True
                        break
                    self._sync.wait()
            try:
                self._lead_sync()
            finally:
                with self._sync:
                    self._leader_active = False
                    self._sync.notify_all()

    def rotate(self) -> list[Path]:
        """Seal the current segment (synced and closed) and return every sealed segment not
        yet released; the next append starts a new segment. The caller must hold off appends
        meanwhile. A failed sync fails the records it covered (their writers get an error);
        the segment is sealed and listed all the same, so its intact records still reach
        Parquet."""
        with self._lock:
            if self._fd >= 0:
                self._seal_locked(sync=True)
            return list(self._sealed)

    def release(self, segments: list[Path]) -> None:
        """Delete sealed segments whose records are safely stored elsewhere."""
        for path in segments:
            path.unlink(missing_ok=True)
            if path in self._sealed:
                self._sealed.remove(path)
        fsync_directory(self._directory)

    def close(self) -> None:
        """Sync and close the current segment; idempotent. Never raises for a failed sync:
        the records it covered are failed for their writers and stay in the segment."""
        with self._lock:
            self._open = False
            if self._fd >= 0:
                self._seal_locked(sync=True)

    # -- internals ---------------------------------------------------------------------------

    def _failure_of(self, sequence: int) -> str | None:
        for low, high, reason in self._failures:
            if low <= sequence <= high:
                return reason
        return None

    def _lead_sync(self) -> None:
        """One fdatasync covering everything written so far (run by the group's leader)."""
        with self._lock:
            target = self._written
            segment = self._segment_number
            if self._fd < 0:
                # No current segment: sealing it resolved every record written to it.
                self._fail_through_locked(target, "The write-ahead log segment was closed before "
                                          "the record was synced; retry.")
                return
            try:
                # A private duplicate: the segment may be sealed (and its descriptor closed and
                # reused by the kernel) while this sync runs outside the lock.
                fd = os.dup(self._fd)
            except OSError as error:
                self._sync_failed_locked(target, segment, error)
                return
        try:
            self._sync_file(fd)
        except OSError as error:
            with self._lock:
                self._sync_failed_locked(target, segment, error)
            return
        finally:
            os.close(fd)
        with self._sync:
            self._resolved = max(self._resolved, target)

    def _sync_failed_locked(self, target: int, segment: int, error: OSError) -> None:
        """Fail every record up to ``target`` and stop trusting the segment (fsyncgate)."""
        reason = (
            f"The collector could not make the write-ahead log durable in {self._directory} "
            f"({error.strerror or error}); this request was not acknowledged. Retry it."
        )
        logger.error(
            "WRITE-AHEAD LOG SYNC FAILED in %s (%s): the records it covered are reported as "
            "failed to their senders; segment %d is sealed and a new one is started.",
            self._directory, error, segment,
        )
        self._fail_through_locked(target, reason)
        if self._fd >= 0 and self._segment_number == segment:
            self._seal_locked(sync=False)

    def _fail_through_locked(self, high: int, reason: str) -> None:
        with self._sync:
            low = self._resolved + 1
            if high >= low:
                self._failures.append((low, high, reason))
                self._resolved = high
            self._sync.notify_all()

    def _seal_locked(self, *, sync: bool) -> None:
        """Close the current segment and list it as sealed; resolve every record written to
        it (durable when ``sync`` succeeds, failed otherwise)."""
        fd, path = self._fd, self._segment_path
        self._fd = -1  # first: nothing may write to this number once it is closed
        reason = "The write-ahead log segment was abandoned before this record was synced; retry."
        synced = False
        if sync:
            try:
                self._sync_file(fd)
                synced = True
            except OSError as error:
                logger.error(
                    "WRITE-AHEAD LOG SYNC FAILED while sealing %s (%s): its unsynced records are "
                    "reported as failed to their senders.", path, error,
                )
                reason = (
                    f"The collector could not make the write-ahead log durable in "
                    f"{self._directory} ({error.strerror or error}); this request was not "
                    "acknowledged. Retry it."
                )
        try:
            os.close(fd)
        except OSError as error:  # the descriptor is gone either way
            logger.warning("Closing write-ahead log segment %s failed: %s", path, error)
        if synced:
            with self._sync:
                self._resolved = max(self._resolved, self._written)
                self._sync.notify_all()
        else:
            self._fail_through_locked(self._written, reason)
        assert path is not None
        if self._segment_bytes > 0:
            self._sealed.append(path)
        else:
            path.unlink(missing_ok=True)
        self._segment_bytes = 0

    def _undo_partial_write(self, start: int, error: OSError) -> None:
        """Cut a half-written frame back off the segment; seal the segment if that fails."""
        try:
            os.ftruncate(self._fd, start)
            return
        except OSError as truncate_error:
            logger.error(
                "WRITE-AHEAD LOG: a write to %s failed (%s) and the partial frame could not be "
                "cut off (%s); the segment is sealed and a new one started.",
                self._segment_path, error, truncate_error,
            )
        self._segment_bytes = max(self._segment_bytes, start)
        self._seal_locked(sync=True)

    def _start_segment(self) -> None:
        """Create the next segment; raises ``StoreUnavailable`` (and stays without a current
        segment) when it cannot be created."""
        self._segment_number += 1
        name = f"{_SEGMENT_PREFIX}{self._segment_number:012d}{_SEGMENT_SUFFIX}"
        path = self._directory / name
        fd = -1
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o644)
            fsync_directory(self._directory)
        except OSError as error:
            if fd >= 0:
                os.close(fd)
                path.unlink(missing_ok=True)
            logger.error("Could not create write-ahead log segment %s: %s", path, error)
            raise StoreUnavailable(
                f"The collector could not create a write-ahead log segment in {self._directory} "
                f"({error.strerror or error}); nothing of this request was stored. Free disk "
                "space or inodes there, then retry.",
                retry_after=_FAULT_RETRY_AFTER,
            ) from error
        self._fd = fd
        self._segment_path = path
        self._segment_bytes = 0


def segment_number(path: Path) -> int:
    """Return the number in a segment's file name."""
    return int(path.name[len(_SEGMENT_PREFIX) : -len(_SEGMENT_SUFFIX)])
