"""The trace index is derived data: reused after a clean stop and after a crash (it adds the
flush it lacks), rebuilt from the Parquet files in the background when its file is gone or
damaged or it failed; while it cannot be used reads answer from the Parquet views. The rows
are the same every way."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from otel_feedback_collector.query.search import trace_rows
from otel_feedback_collector.storage import SpanStore, connect, live_reads
from otlp_builders import make_span, traces_request
from read_scenario import chain, collector_reads, fill, parquet_reads

_REBUILDING = "Building the trace index"
_INDEX = "trace_index.duckdb"


def open_store(data_dir: Path) -> SpanStore:
    store = SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000)
    store.open()
    return store


def assert_reads_equal_parquet(store: SpanStore, expected: dict) -> None:
    assert parquet_reads(store.data_dir) == expected
    for read in collector_reads(store):
        assert read == expected


def assert_reopened_with(data_dir: Path, caplog: pytest.LogCaptureFixture, expected: dict, *, rebuilds: int) -> None:
    """Open the store again: the index was rebuilt ``rebuilds`` times, every read gives ``expected``."""
    caplog.clear()
    caplog.set_level(logging.INFO, logger="otel_feedback_collector.storage")
    store = open_store(data_dir)
    try:
        if rebuilds:
            assert_reads_equal_parquet(store, expected)  # the Parquet views, or the index if done
            assert store.wait_for_trace_index()
        assert sum(_REBUILDING in record.getMessage() for record in caplog.records) == rebuilds
        assert store._reads.usable
        assert_reads_equal_parquet(store, expected)
    finally:
        store.close()


def add_trace(store: SpanStore, step: int) -> None:
    """Write one new trace and flush it."""
    root, children = chain(os.urandom(16), step=step, text=f"trace {step}", tokens=step)
    store.write_traces(traces_request([root, *children]))
    store.flush()


def assert_index_rebuilt_with(store: SpanStore, traces: int) -> None:
    """The index is in use again and every read gives the Parquet rows (``traces`` of them)."""
    assert store.wait_for_trace_index()
    after = parquet_reads(store.data_dir)
    assert len(after["traces"]) == traces
    assert_reads_equal_parquet(store, after)


def test_a_clean_restart_reuses_the_index(data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="otel_feedback_collector.storage")
    store = open_store(data_dir)
    fill(store)
    expected = parquet_reads(data_dir)
    store.close()
    inode = (data_dir / _INDEX).stat().st_ino
    assert_reopened_with(data_dir, caplog, expected, rebuilds=0)
    assert (data_dir / _INDEX).stat().st_ino == inode


_KILLED_CHILD = """
import sys, time
sys.path.insert(0, {tests!r})
from otel_feedback_collector.storage import SpanStore
from read_scenario import fill
store = SpanStore({data!r}, flush_interval=0.2, compaction_fan_in=1000)
store.open()
fill(store)
print("filled", flush=True)
time.sleep(120)
"""


def test_an_index_left_by_a_killed_collector_is_reused(data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A crash leaves the index as of its last add: the next start reuses it, no rebuild
    (one took 188 s at fifteen million spans, with the port closed)."""
    code = textwrap.dedent(_KILLED_CHILD).format(tests=str(Path(__file__).parent), data=str(data_dir))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "filled"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert (data_dir / _INDEX).exists()
    expected = parquet_reads(data_dir)
    assert len(expected["traces"]) == 5
    assert_reopened_with(data_dir, caplog, expected, rebuilds=0)


@pytest.mark.parametrize("damage", ["deleted", "garbage"])
def test_a_missing_or_damaged_index_file_is_rebuilt(
    data_dir: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    store = open_store(data_dir)
    fill(store)
    expected = parquet_reads(data_dir)
    store.close()
    index = data_dir / _INDEX
    if damage == "deleted":
        index.unlink()
    else:
        index.write_bytes(os.urandom(256) + b"not a DuckDB file" * 1000)
    assert_reopened_with(data_dir, caplog, expected, rebuilds=1)


def break_the_index_connection(store: SpanStore) -> None:
    """The index database stops working under the running store (as after an I/O error
    that invalidates a DuckDB database)."""
    connection = store._reads._index._connection
    assert connection is not None
    connection.close()


def test_reads_fall_back_to_parquet_while_the_index_connection_is_broken(store: SpanStore) -> None:
    fill(store)
    expected = parquet_reads(store.data_dir)
    break_the_index_connection(store)
    assert_reads_equal_parquet(store, expected)


def test_a_flush_after_the_index_connection_broke_stores_and_rebuilds_it(store: SpanStore) -> None:
    fill(store)
    break_the_index_connection(store)
    # The flush that meets the broken index still stores its spans; by the next flush at the
    # latest the index is rebuilt.
    add_trace(store, 9)
    add_trace(store, 10)
    assert_index_rebuilt_with(store, traces=7)


def test_an_index_that_fails_taking_a_flush_is_rebuilt_by_the_next(store: SpanStore) -> None:
    fill(store)
    # A real I/O error on the index alone: its write-ahead log cannot be created (a directory
    # stands where the file would go), while the flush's own Parquet files are written.
    cursor = store._reads._index.cursor()
    cursor.execute("CHECKPOINT")  # the index's log is empty and removed
    cursor.close()
    blocked = store.data_dir / (_INDEX + ".wal")
    assert not blocked.exists()
    blocked.mkdir()
    add_trace(store, 9)
    assert not store._reads.usable
    unindexed = parquet_reads(store.data_dir)
    assert len(unindexed["traces"]) == 6
    assert_reads_equal_parquet(store, unindexed)  # the Parquet views answer meanwhile

    blocked.rmdir()
    add_trace(store, 10)
    assert_index_rebuilt_with(store, traces=7)


def test_the_request_stays_the_earliest_root_input_after_a_rebuild(data_dir: Path) -> None:
    """A trace with two spans without a parent: the earlier one is its root, whichever flush
    brings the later one, also after the index was rebuilt from Parquet (root bodies unknown)."""
    trace_id = os.urandom(16)
    root, children = chain(trace_id, step=1, text="first")
    store = open_store(data_dir)
    store.write_traces(traces_request([root, *children]))
    store.close()
    (data_dir / _INDEX).unlink()  # rebuilt at the next start, without the root's body
    store = open_store(data_dir)
    try:
        assert store.wait_for_trace_index()
        second_root = make_span(
            trace_id=trace_id, name="second entry", start_ns=root.start_time_unix_nano + 5_000_000_000,
            attributes={"input.value": "a later root", "output.value": "its answer"},
        )
        store.write_traces(traces_request([second_root]))
        store.flush()
        parquet = trace_rows(connect(data_dir), [trace_id.hex()])[0]
        assert parquet["request"] == "question: first"
        assert trace_rows(store.connect(), [trace_id.hex()])[0]["request"] == "question: first"
        with store.reading() as pooled:
            assert trace_rows(pooled, [trace_id.hex()]) == [parquet]
    finally:
        store.close()


def test_the_index_file_has_no_art_index(data_dir: Path) -> None:
    """DuckDB keeps an ART index whole in memory against the index's memory limit: one on the
    trace table made flushes fail to commit past ~1.8M traces, stopping storage."""
    store = open_store(data_dir)
    fill(store)
    store.close()
    connection = duckdb.connect(str(data_dir / _INDEX), read_only=True)
    try:
        assert connection.execute("SELECT index_name FROM duckdb_indexes()").fetchall() == []
    finally:
        connection.close()


@pytest.mark.parametrize("rows_per_sort", [250_000, 5, 1])
def test_a_rebuilt_index_keeps_its_rows_in_start_time_order(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, rows_per_sort: int
) -> None:
    """After a full compaction the summaries are in trace-id order (random in time); a rebuild
    must still put the index rows in start-time order, as flushes append them: reads fetch a
    page of the newest traces by their row range (views.py). It sorts a slice of start times
    at a time (one sort of 3.3M rows ran out of memory): every row once, in order, however
    many slices."""
    monkeypatch.setattr(live_reads, "_ROWS_PER_SORT", rows_per_sort)
    store = open_store(data_dir)
    try:
        for step in range(12):
            add_trace(store, step)
        assert store.compact(full=True)
    finally:
        store.close()
    (data_dir / _INDEX).unlink()  # rebuilt at the next start
    store = open_store(data_dir)
    try:
        assert store.wait_for_trace_index()
        connection = store._reads._index.cursor()
        try:
            starts = [
                row[0]
                for row in connection.execute(
                    "SELECT coalesce(step_start_time_unix_nano, any_start_time_unix_nano) "
                    "FROM trace_index ORDER BY rowid"
                ).fetchall()
            ]
        finally:
            connection.close()
    finally:
        store.close()
    assert len(starts) == 12
    assert starts == sorted(starts)
