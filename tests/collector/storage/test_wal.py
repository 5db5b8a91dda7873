"""The write-ahead log under faults: a full disk, no inodes left for a new segment, a failed
fsync, and damaged frames read back at recovery."""

from __future__ import annotations

import errno
import os
import threading
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from otel_feedback_collector.storage import StoreUnavailable
from otel_feedback_collector.storage.wal import (
    RecordKind,
    SegmentReader,
    WriteAheadLog,
    encode_frame,
    list_segments,
    read_segment,
)
from disk_faults import fill_disk, use_up_inodes


def payloads_in(directory: Path) -> list[bytes]:
    """Every intact record of every segment, oldest first; asserts nothing was damaged."""
    found: list[bytes] = []
    for path in list_segments(directory):
        contents = read_segment(path)
        assert contents.damage is None, (path, contents.damage)
        found.extend(record.payload for record in contents.records)
    return found


def test_a_write_cut_short_by_a_full_disk_leaves_no_partial_frame(
    mount_tmpfs: Callable[..., Path],
) -> None:
    disk = mount_tmpfs(size="256k")
    ballast = disk / "ballast"
    ballast.write_bytes(b"\0" * 64 * 1024)
    wal = WriteAheadLog(disk / "wal")
    wal.open(first_segment_number=1)
    acknowledged: list[bytes] = []
    failures = 0
    for number in range(1000):  # bounded: the 256 KiB disk fills long before
        payload = f"record {number} ".encode() * 300  # ~4 KiB, not a multiple of a page
        try:
            wal.wait_durable(wal.append(RecordKind.TRACES, payload))
        except StoreUnavailable as error:
            failures += 1
            assert "Free disk space" in str(error) and error.retry_after > 0
            if failures == 3:
                break
            continue
        acknowledged.append(payload)
    assert failures == 3 and acknowledged
    ballast.unlink()  # space returns: the log takes writes again, without a restart
    after = [f"after {number} ".encode() * 100 for number in range(5)]
    for payload in after:
        wal.wait_durable(wal.append(RecordKind.TRACES, payload))
    wal.close()
    # Before the fix a partial frame sat between these and recovery stopped at it.
    assert payloads_in(disk / "wal") == acknowledged + after


def test_a_failed_segment_creation_never_writes_to_the_closed_descriptor(
    mount_tmpfs: Callable[..., Path],
) -> None:
    disk = mount_tmpfs(size="1m", nr_inodes=64)
    wal = WriteAheadLog(disk / "wal")
    wal.open(first_segment_number=1)
    wal.wait_durable(wal.append(RecordKind.TRACES, b"first"))
    ballast = use_up_inodes(disk)
    sealed = wal.rotate()  # seals the segment; no inode is left for the next one
    assert [path.name for path in sealed] == ["segment-000000000001.wal"]
    # The kernel hands out the lowest free descriptor number: the closed segment's (before
    # the fix the log kept writing to that number, here another client's connection).
    bystander = os.open(ballast[0], os.O_WRONLY)
    try:
        with pytest.raises(StoreUnavailable, match="inodes"):
            wal.append(RecordKind.TRACES, b"lost in a reused descriptor")
        with pytest.raises(StoreUnavailable):  # still no inode: still a retryable error
            wal.append(RecordKind.TRACES, b"again")
    finally:
        os.close(bystander)
    assert ballast[0].stat().st_size == 0
    assert read_segment(sealed[0]).records[0].payload == b"first"
    assert sealed[0].stat().st_size == len(encode_frame(RecordKind.TRACES, b"first"))
    for path in ballast:
        path.unlink()
    wal.wait_durable(wal.append(RecordKind.TRACES, b"second"))  # retried on the next append
    assert wal.rotate()[-1].name != sealed[0].name
    wal.close()
    assert payloads_in(disk / "wal") == [b"first", b"second"]


class FailingSync:
    """Stands in for ``os.fdatasync``. A real failing fsync cannot be produced on demand (no
    device-mapper "error" target here), so this seam is the edge of the world: it fails the
    first ``failures`` calls with EIO and records which file every call was for."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.inodes: list[int] = []

    def __call__(self, fd: int) -> None:
        self.inodes.append(os.fstat(fd).st_ino)
        if self.failures > 0:
            self.failures -= 1
            raise OSError(errno.EIO, "Input/output error")
        os.fdatasync(fd)


def test_a_failed_fsync_fails_every_waiter_it_covered(tmp_path: Path) -> None:
    sync = FailingSync(failures=1)
    wal = WriteAheadLog(tmp_path / "wal", sync_file=sync)
    wal.open(first_segment_number=1)
    sequences = [wal.append(RecordKind.TRACES, f"record {n}".encode()) for n in range(4)]
    first_segment = list_segments(tmp_path / "wal")[0]
    first_inode = first_segment.stat().st_ino
    outcomes: dict[int, BaseException | None] = {}
    start = threading.Barrier(len(sequences))

    def wait(sequence: int) -> None:
        start.wait(timeout=10)
        try:
            wal.wait_durable(sequence)
            outcomes[sequence] = None
        except BaseException as error:  # noqa: BLE001 - recorded for the assertion
            outcomes[sequence] = error

    threads = [threading.Thread(target=wait, args=(s,)) for s in sequences]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # The one sync covered all four records; it failed, so no waiter may hear "durable".
    assert sync.inodes == [first_inode]
    assert all(isinstance(outcomes[s], StoreUnavailable) for s in sequences), outcomes
    # The segment is not trusted again (fsyncgate): the next record goes to a new file.
    wal.wait_durable(wal.append(RecordKind.TRACES, b"after"))
    assert sync.inodes[-1] != first_inode
    assert first_segment in wal.rotate()  # sealed and listed: its frames still reach Parquet
    wal.close()
    assert payloads_in(tmp_path / "wal") == [*(f"record {n}".encode() for n in range(4)), b"after"]


def test_recovery_resynchronises_after_a_bad_frame_and_keeps_every_intact_one(
    tmp_path: Path,
) -> None:
    frames = [encode_frame(RecordKind.TRACES, f"span batch {n}".encode() * 20) for n in range(50)]
    damaged = bytearray(frames[10])
    damaged[len(damaged) // 2] ^= 0xFF  # a checksum mismatch in the middle of the segment
    torn_header = frames[30][:7]  # and a frame whose header was cut short
    segment = tmp_path / "segment-000000000001.wal"
    segment.write_bytes(b"".join([*frames[:10], damaged, *frames[11:30], torn_header, *frames[30:]]))
    contents = read_segment(segment)
    expected = [frame[13:] for index, frame in enumerate(frames) if index != 10]
    assert [record.payload for record in contents.records] == expected
    assert contents.damage is not None
    assert "checksum mismatch at byte" in contents.damage
    assert "truncated record at byte" in contents.damage


def test_a_length_field_pointing_past_the_end_does_not_hide_later_frames(tmp_path: Path) -> None:
    good = [encode_frame(RecordKind.ASSESSMENTS, b"[%d]" % n) for n in range(5)]
    bad = bytearray(good[1])
    bad[5:9] = (10**9).to_bytes(4, "little")  # an impossible length
    segment = tmp_path / "segment-000000000001.wal"
    segment.write_bytes(good[0] + bytes(bad) + b"".join(good[2:]))
    records = read_segment(segment).records
    assert [r.payload for r in records] == [b"[0]", b"[2]", b"[3]", b"[4]"]
    assert zlib.crc32(records[0].payload) == zlib.crc32(b"[0]")


def test_a_large_segment_reads_back_whole_while_its_read_pages_are_released(tmp_path: Path) -> None:
    # 12 MB: the reader gives pages back every 4 MB while later records are still read, and
    # a damaged frame after a release point is still skipped and resynchronised past.
    frames = [encode_frame(RecordKind.TRACES, bytes([n]) * 700_000 + b"%d" % n) for n in range(18)]
    damaged = bytearray(frames[12])
    damaged[100] ^= 0xFF
    segment = tmp_path / "segment-000000000001.wal"
    segment.write_bytes(b"".join([*frames[:12], damaged, *frames[13:]]))
    reader = SegmentReader(segment)
    payloads = []
    for record in reader:
        payloads.append(record.payload)
    assert payloads == [frame[13:] for index, frame in enumerate(frames) if index != 12]
    assert reader.damage is not None and "checksum mismatch" in reader.damage
