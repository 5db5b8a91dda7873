"""A full disk under the store: writes answer a retryable error and are never half-kept, the
flush retries without losing the write-ahead log, stop and restart work while full, and
everything acknowledged is stored once space returns."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from otel_feedback_collector.storage import SpanStore, StoreUnavailable
from disk_faults import fill_disk, use_up_inodes
from otlp_builders import genai_trace, traces_request


def write_until_full(store: SpanStore, acknowledged: set[str], *, failures: int) -> int:
    """Write traces until ``failures`` were refused; return how many were refused."""
    refused = 0
    for _ in range(20_000):  # bounded: the small disk fills long before
        trace_id, spans = genai_trace(text="x" * 3000)
        try:
            store.write_traces(traces_request(spans))
        except StoreUnavailable as error:
            assert error.retry_after > 0 and "Free disk space" in str(error)
            refused += 1
            if refused == failures:
                return refused
            continue
        acknowledged.add(trace_id.hex())
    raise AssertionError("the disk never filled up")


def stored_counts(store: SpanStore) -> tuple[set[str], int, int]:
    rows = store.connect().execute("SELECT trace_id, span_id FROM spans").fetchall()
    return {r[0] for r in rows}, len(rows), len(set(rows))


def test_full_disk_loses_no_acknowledged_trace_and_recovers_without_restart(
    mount_tmpfs: Callable[..., Path],
) -> None:
    disk = mount_tmpfs(size="4m")
    ballast = disk / "ballast"
    ballast.write_bytes(b"\0" * 1024 * 1024)
    data_dir = disk / "data"
    acknowledged: set[str] = set()
    store = SpanStore(data_dir, flush_interval=0.1, compaction_fan_in=1000)
    store.open()
    write_until_full(store, acknowledged, failures=5)
    fill_disk(disk / "ballast-2")  # whatever the flushes freed meanwhile: full again
    store.close()  # must not raise; what is not in Parquet stays in the WAL

    restarted = SpanStore(data_dir, flush_interval=0.1, compaction_fan_in=1000)
    restarted.open()  # still full: it starts and serves reads
    try:
        restarted.connect().execute("SELECT count(*) FROM spans").fetchone()
        trace_id, spans = genai_trace()
        try:
            restarted.write_traces(traces_request(spans))
            acknowledged.add(trace_id.hex())
        except StoreUnavailable:
            pass
        ballast.unlink()
        (disk / "ballast-2").unlink()
        # Space is back: writes succeed again and the writer catches up, without a restart.
        for _ in range(20):
            trace_id, spans = genai_trace()
            restarted.write_traces(traces_request(spans))
            acknowledged.add(trace_id.hex())
        restarted.flush()
        stored, rows, distinct = stored_counts(restarted)
    finally:
        restarted.close()
    missing = acknowledged - stored
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged traces were lost"
    assert rows == distinct


def test_no_inode_for_the_next_segment_answers_retryable_and_loses_nothing(
    mount_tmpfs: Callable[..., Path],
) -> None:
    disk = mount_tmpfs(size="16m", nr_inodes=200)
    acknowledged: set[str] = set()
    with SpanStore(disk / "data", flush_interval=0.1, compaction_fan_in=1000) as store:
        for _ in range(3):
            trace_id, spans = genai_trace()
            store.write_traces(traces_request(spans))
            acknowledged.add(trace_id.hex())
        ballast = use_up_inodes(disk)
        # The writer seals the segment; neither Parquet files nor the next segment can be
        # created now. Before the fix the log went on writing to the closed descriptor.
        refused = 0
        for _ in range(50):
            trace_id, spans = genai_trace()
            try:
                store.write_traces(traces_request(spans))
                acknowledged.add(trace_id.hex())
            except StoreUnavailable as error:
                assert "inodes" in str(error)
                refused += 1
            time.sleep(0.02)
        assert refused > 0
        for path in ballast:
            path.unlink()
        trace_id, spans = genai_trace()
        store.write_traces(traces_request(spans))  # a new segment now: no restart needed
        acknowledged.add(trace_id.hex())
        store.flush()
        stored, rows, distinct = stored_counts(store)
    assert acknowledged <= stored and rows == distinct


def test_a_flood_on_a_small_disk_leaves_room_to_convert_what_it_acknowledged(
    mount_tmpfs: Callable[..., Path],
) -> None:
    """No flush runs while the disk fills (a long interval): before the fix the WAL took the
    whole disk, so the flush that followed found no room for its Parquet files and nothing
    could be stored or released until space was freed by hand (CI: the flaky
    test_disk_fills_under_concurrent_senders)."""
    disk = mount_tmpfs(size="8m")
    acknowledged: set[str] = set()
    with SpanStore(disk / "data", flush_interval=3600, compaction_fan_in=1000) as store:
        write_until_full(store, acknowledged, failures=3)
        assert len(acknowledged) > 100
        store.flush()  # nothing was freed: the room kept is enough
        stored, rows, distinct = stored_counts(store)
        # Converted, the WAL is released: writes are accepted again.
        trace_id, spans = genai_trace()
        store.write_traces(traces_request(spans))
    assert acknowledged <= stored and rows == distinct


def test_compaction_waits_for_disk_space_rather_than_filling_the_disk(
    mount_tmpfs: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    """A merge writes about as much as it reads: on a disk without that room it is skipped
    (one warning), not attempted and failed every interval while it eats the flush's room."""
    disk = mount_tmpfs(size="16m")
    data_dir = disk / "data"
    with SpanStore(data_dir, compaction_fan_in=1000) as store:
        for number in range(4):
            _, spans = genai_trace(text=f"flush {number}")
            store.write_traces(traces_request(spans))
            store.flush()
        _, rows_before, _ = stored_counts(store)
    span_files = sorted((data_dir / "spans").glob("*.parquet"))
    assert len(span_files) == 4
    ballast = disk / "ballast"
    fill_disk(ballast)
    caplog.set_level(logging.INFO, logger="otel_feedback_collector")
    store = SpanStore(data_dir, compaction_fan_in=2, compaction_interval=0.05)
    store.open()
    try:
        deadline = time.monotonic() + 60
        while not any("Compaction waits for disk space" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the compactor never looked at the files"
            time.sleep(0.05)
        time.sleep(0.5)  # more intervals: still one warning, no failed merge
        messages = [r.getMessage() for r in caplog.records]
        assert sum("Compaction waits for disk space" in m for m in messages) == 1
        assert not any("Compaction failed" in m for m in messages)
        assert sorted((data_dir / "spans").glob("*.parquet")) == span_files

        ballast.unlink()
        while len(list((data_dir / "spans").glob("*.parquet"))) == 4:
            assert time.monotonic() < deadline + 60, "compaction did not resume once there was room"
            time.sleep(0.05)
    finally:
        store.close()
    with SpanStore(data_dir, compaction_fan_in=1000) as store:  # no merge moves files while counting
        _, rows, distinct = stored_counts(store)
    assert rows == distinct == rows_before


def test_a_file_system_that_reports_no_sizes_refuses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some FUSE and network mounts answer statvfs with zeros: read as "no room", every write
    and merge would have been refused for ever. (statvfs is the edge of the world here.)"""
    real = os.statvfs

    def no_sizes(path: str | os.PathLike[str]) -> os.statvfs_result:
        found = real(path)
        return os.statvfs_result((found.f_bsize, 0, 0, 0, 0, 0, 0, 0, found.f_flag, found.f_namemax))

    monkeypatch.setattr(os, "statvfs", no_sizes)
    with SpanStore(tmp_path / "data", compaction_fan_in=2, compaction_interval=0.05) as store:
        for number in range(4):
            _, spans = genai_trace(text=f"flush {number}")
            store.write_traces(traces_request(spans))
            store.flush()
        deadline = time.monotonic() + 60
        while len(list((tmp_path / "data" / "spans").glob("*.parquet"))) == 4:  # merged in the background
            assert time.monotonic() < deadline, "compaction never ran"
            time.sleep(0.05)
    with SpanStore(tmp_path / "data", compaction_fan_in=1000) as store:  # no merge moves files while counting
        _, rows, distinct = stored_counts(store)
    assert rows == distinct == 4 * len(spans)
