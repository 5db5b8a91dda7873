"""The trace index never holds storage up: after a crash it is reused (each add records its
flush; the next start adds the flush it lacks, and compaction never merges a flushed file the
index lacks), and when it must be rebuilt that happens in the background while the store
writes, with reads meanwhile from the Parquet files in one memory-bounded database."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import httpx
import pytest

from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.server import CollectorProcess
from otel_feedback_collector.storage import AssessmentRecord, SpanStore
from otel_feedback_collector.storage import live_reads
from otel_feedback_collector.storage.datasets import LAYOUTS
from otel_feedback_collector.storage.live_reads import LiveReads
from otel_feedback_collector.storage.manifest import Manifest, read_manifest
from otlp_builders import traces_request
from read_scenario import Scenario, chain, feedback_log, fill, parquet_reads
from test_trace_index import _INDEX, _REBUILDING, add_trace, assert_reads_equal_parquet, open_store

_T = TypeVar("_T")
_DATASETS = ("spans", "trace_summaries", "assessments")
# DuckDB shows the fallback database's 128 MB (live_reads._FALLBACK_MEMORY) in MiB.
_FALLBACK_MEMORY_SHOWN = "122.0 MiB"


def within(seconds: float, what: str, action: Callable[[], _T]) -> _T:
    """``action()``, failing (not hanging) when it has not returned after ``seconds``: a
    version that rebuilds the index synchronously blocks in it for as long as the rebuild."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = action()
        except BaseException as error:  # noqa: BLE001 - raised again below, in the test
            outcome["error"] = error

    thread = threading.Thread(target=run, name=f"test: {what}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"{what} did not finish within {seconds:.0f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def flushed_files(manifest: Manifest) -> dict[str, set[tuple[str, int]]]:
    """The live level-0 (flushed, never merged) files of each dataset: (path, run)."""
    return {
        name: {(f.path, f.run) for f in manifest.files[name] if f.level == 0} for name in _DATASETS
    }


def live_paths(manifest: Manifest) -> set[str]:
    return {f.path for name in _DATASETS for f in manifest.files[name]}


def trace_ids(reads: dict[str, Any]) -> set[str]:
    return {row["trace_id"] for row in reads["traces"]}


def write_one_trace(store: SpanStore, text: str, *, step: int) -> str:
    """Write a new trace and an assessment on it (not flushed); returns its id."""
    trace_id = os.urandom(16)
    root, children = chain(trace_id, step=step, text=text, tokens=step)
    store.write_traces(traces_request([root, *children]))
    store.write_assessments([AssessmentRecord(trace_id=trace_id.hex(), name="relevance", value=0.25, type="feedback")])
    return trace_id.hex()


def filled_directory_without_index(data_dir: Path) -> tuple[Scenario, dict[str, Any]]:
    """Fill a data directory, stop cleanly, delete its index (rebuilt at the next start);
    returns the scenario and what every read gives."""
    store = open_store(data_dir)
    scenario = fill(store)
    store.close()
    (data_dir / _INDEX).unlink()
    return scenario, parquet_reads(data_dir)


def open_while_rebuilding(data_dir: Path, held: HeldFill, **options: Any) -> SpanStore:
    """Open a store over a directory without an index: the open returns while the rebuild
    waits in ``held`` (a synchronous rebuild would block the open: the test fails then)."""
    held.hold()
    store = SpanStore(data_dir, **{"flush_interval": 0.2, "compaction_fan_in": 1000, **options})
    within(30, "opening the store while its index is rebuilt", store.open)
    assert held.entered.wait(30), "the rebuild never started"
    assert not store._reads.usable
    return store


# -- a crash between a flush's publish and its index add ------------------------------------------

_CRASH_AFTER_PUBLISH = """
import os, sys
sys.path.insert(0, {tests!r})
from otel_feedback_collector.storage import SpanStore
from otel_feedback_collector.storage.live_reads import LiveReads
from read_scenario import fill
from test_trace_index_recovery import write_one_trace

store = SpanStore({data!r}, flush_interval=0.2, compaction_fan_in=1000)
store.open()
fill(store)


def crash(*args, **kwargs):
    # The flush is published (its files are live) and not in the index yet. A compaction
    # now (the background one may run at any moment) must leave its flushed files alone;
    # then the process dies before the index hears of them.
    print("merged", store.compact(full=True), flush=True)
    os._exit(17)


LiveReads.add = crash
print("trace", write_one_trace(store, "last", step=6), flush=True)
store.flush()
"""


def test_a_crash_between_a_flush_and_its_index_add_is_caught_up_at_the_next_start(
    data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    code = textwrap.dedent(_CRASH_AFTER_PUBLISH).format(tests=str(Path(__file__).parent), data=str(data_dir))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        output, _ = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
    assert child.returncode == 17, output
    said = dict(line.split(" ", 1) for line in output.splitlines())
    last_trace = said["trace"]
    assert int(said["merged"]) > 0  # the compaction merged the flushes the index held

    # The crashed flush's files are live and still flushed files (level 0), the only ones.
    manifest = read_manifest(data_dir)
    flushed = flushed_files(manifest)
    assert all(flushed[name] for name in _DATASETS), flushed
    (last_run,) = {run for files in flushed.values() for _, run in files}
    # The index on disk does not hold that flush (copied: opening it replays its log).
    copy = tmp_path / "index-copy"
    copy.mkdir()
    for name in (_INDEX, _INDEX + ".wal"):
        if (data_dir / name).exists():
            shutil.copy(data_dir / name, copy / name)
    connection = duckdb.connect(str(copy / _INDEX))
    try:
        (absorbed,) = connection.execute("SELECT value FROM trace_index_state WHERE key = 'absorbed_run'").fetchone()
        assert int(absorbed) < last_run
        assert connection.execute("SELECT count(*) FROM trace_index WHERE trace_id = ?", [last_trace]).fetchone() == (0,)
    finally:
        connection.close()

    expected = parquet_reads(data_dir)
    assert last_trace in trace_ids(expected)
    assert any(row[0] == last_trace and row[1] == "relevance" for row in expected["current"])
    caplog.set_level(logging.INFO, logger="otel_feedback_collector.storage")
    store = open_store(data_dir)
    try:
        assert store._reads.usable  # at once: reused, not rebuilt
        messages = [record.getMessage() for record in caplog.records]
        assert not any(_REBUILDING in message for message in messages)
        assert "Adding 2 flushed files to the trace index." in messages  # its summary and assessments
        assert_reads_equal_parquet(store, expected)
    finally:
        store.close()


# -- compaction leaves a flush the index does not hold yet alone -----------------------------------


def test_compaction_leaves_the_files_of_a_flush_not_yet_in_the_index_alone(
    store: SpanStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(store)
    entered, release = threading.Event(), threading.Event()
    real_add = LiveReads.add

    def held_add(reads: LiveReads, *args: Any, **kwargs: Any) -> None:
        entered.set()  # the flush is published: its files are live
        if not release.wait(timeout=60):
            raise RuntimeError("the test never released the add")
        real_add(reads, *args, **kwargs)

    monkeypatch.setattr(LiveReads, "add", held_add)
    held_trace = write_one_trace(store, "held", step=6)
    flushing = threading.Thread(target=store.flush, name="test: held flush", daemon=True)
    flushing.start()
    try:
        assert entered.wait(30), "the flush never reached its index add"
        newest_run = max(f.run for f in store._manifest.files["trace_summaries"] if f.level == 0)
        held = {
            name: {(path, run) for path, run in files if run == newest_run}
            for name, files in flushed_files(store._manifest).items()
        }
        assert all(held[name] for name in _DATASETS), held  # spans, summary and assessments
        # Every file of every other flush is merged; the held flush's stay as they are.
        assert store.compact(full=True) > 0
        assert flushed_files(store._manifest) == held
    finally:
        release.set()
        flushing.join(30)
    assert not flushing.is_alive()
    # Once the index has them, they are merged like any other.
    assert store.compact(full=True) > 0
    assert flushed_files(store._manifest) == {name: set() for name in _DATASETS}
    expected = parquet_reads(store.data_dir)
    assert held_trace in trace_ids(expected)
    assert_reads_equal_parquet(store, expected)


def test_compaction_leaves_the_files_of_a_flush_the_index_failed_to_take_alone(
    data_dir: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index fails taking a flush (a real I/O error: a directory stands where its
    write-ahead log would go) and its rebuild fails too; until one succeeds, compaction goes
    on around that flush's files."""
    monkeypatch.setattr(live_reads, "_REBUILD_RETRY", 3600.0)  # no second try during the test
    caplog.set_level(logging.INFO, logger="otel_feedback_collector.storage")
    store = open_store(data_dir)
    try:
        fill(store)
        cursor = store._reads._index.cursor()
        cursor.execute("CHECKPOINT")  # the index's log is empty and removed
        cursor.close()
        blocked = data_dir / (_INDEX + ".wal")
        blocked.mkdir()
        failed_trace = write_one_trace(store, "not indexed", step=6)
        store.flush()
        assert not store._reads.usable
        deadline = time.monotonic() + 30
        while not any("Rebuilding the trace index failed" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the rebuild never failed"
            time.sleep(0.05)
        assert not store._reads.rebuilding
        newest_run = max(f.run for f in store._manifest.files["trace_summaries"] if f.level == 0)
        failed = {
            name: {(path, run) for path, run in files if run == newest_run}
            for name, files in flushed_files(store._manifest).items()
        }
        assert all(failed[name] for name in _DATASETS), failed
        # (``compact()`` would wait for the index first: the merges it runs, directly.)
        assert sum(store._compact_dataset(layout, full=True) for layout in LAYOUTS.values()) > 0
        assert flushed_files(store._manifest) == failed
        expected = parquet_reads(data_dir)
        assert failed_trace in trace_ids(expected)
        assert_reads_equal_parquet(store, expected)
    finally:
        store.close()
    blocked.rmdir()
    monkeypatch.undo()
    store = open_store(data_dir)
    try:
        assert store.wait_for_trace_index(60)
        assert_reads_equal_parquet(store, expected)
        assert store.compact(full=True) > 0
        assert flushed_files(store._manifest) == {name: set() for name in _DATASETS}
        assert_reads_equal_parquet(store, parquet_reads(data_dir))
    finally:
        store.close()


# -- a rebuild in the background ----------------------------------------------------------------


def merge_flushed_files(data_dir: Path) -> None:
    """Merge the directory's flushed files into a level-1 run per dataset (a store that merges
    only when asked: it receives nothing, so its compactor is never woken)."""
    store = SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=2, compaction_interval=3600)
    store.open()
    try:
        assert store.compact() > 0
    finally:
        store.close()


def test_the_store_writes_and_reads_while_the_index_is_rebuilt(data_dir: Path, held_fill: HeldFill) -> None:
    store = open_store(data_dir)
    scenario = fill(store)
    store.close()
    merge_flushed_files(data_dir)
    store = open_store(data_dir)
    for step in (7, 8):
        add_trace(store, step)
    store.close()
    merge_flushed_files(data_dir)
    assert len({f.run for f in read_manifest(data_dir).files["spans"] if f.level == 1}) == 2
    (data_dir / _INDEX).unlink()  # rebuilt at the next start
    before = parquet_reads(data_dir)
    # Compaction would merge the two level-1 span runs at once (two are enough, checked often)
    # were it not paused while the rebuild reads the files. (The writer starts the rebuild at
    # its first turn, before the compactor's first.)
    store = open_while_rebuilding(
        data_dir, held_fill, flush_interval=0.02, compaction_fan_in=2, compaction_interval=0.3
    )
    try:
        files_before = live_paths(store._manifest)
        written = write_one_trace(store, "during", step=6)
        store.write_logs(feedback_log(bytes.fromhex(scenario.plain), "fb-during", True))
        within(30, "a flush during the rebuild", store.flush)
        assert not store._reads.usable and store._reads.rebuilding
        assert not store._manifest.disjoint_spans  # stored without the index's check
        for layout in LAYOUTS.values():
            assert store._compact_dataset(layout, full=False) == 0
        during = parquet_reads(data_dir)
        assert trace_ids(during) == trace_ids(before) | {written}
        assert ("fb-during", "create") in during["log"]
        assert_reads_equal_parquet(store, during)  # the Parquet views, in the fallback database
        assert not store._reads.usable
        assert files_before < live_paths(store._manifest)  # added to, never merged
        assert len({f.run for f in store._manifest.files["spans"] if f.level == 1}) == 2

        # (Compaction resumes once the index is back; held off while the reads compare: the
        # Parquet-only reader would see a file it listed retired under it.)
        with store._compaction_mutex:
            held_fill.release.set()
            assert store.wait_for_trace_index(60)
            assert held_fill.calls == 1
            assert_reads_equal_parquet(store, during)  # the index, with the flushes added after its snapshot
        # The compactor thread proves the flushes stored meanwhile disjoint (they hold no span twice).
        deadline = time.monotonic() + 60
        while not store._manifest.disjoint_spans:
            assert time.monotonic() < deadline, "the spans stored during the rebuild were never checked"
            time.sleep(0.05)
        # Compaction goes on again.
        deadline = time.monotonic() + 60
        while files_before <= live_paths(store._manifest):
            assert time.monotonic() < deadline, "compaction did not resume after the rebuild"
            time.sleep(0.05)
        with store._compaction_mutex:  # no merge half-way while the reads compare
            assert_reads_equal_parquet(store, parquet_reads(data_dir))
    finally:
        held_fill.release.set()  # (a Python wait: closing could not interrupt it)
        store.close()


def test_reads_while_the_index_is_down_share_one_memory_bounded_database(data_dir: Path, held_fill: HeldFill) -> None:
    """A database per read, each allowed most of the machine's memory, took the collector to
    2.6 GB at fourteen million spans."""
    filled_directory_without_index(data_dir)
    store = open_while_rebuilding(data_dir, held_fill)
    first, second = store.connect(), store.connect()
    try:
        for connection in (first, second):
            assert connection.execute(
                "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
            ).fetchone() == (_FALLBACK_MEMORY_SHOWN, str(data_dir.resolve() / "tmp" / "reads"))
        # A table (not a temporary one: those are per connection) made through one is seen
        # through the other: the same database.
        first.execute("CREATE TABLE shared_probe AS SELECT 42 AS answer")
        assert second.execute("SELECT answer FROM shared_probe").fetchall() == [(42,)]
        with store.reading() as pooled:
            assert pooled.execute("SELECT answer FROM shared_probe").fetchall() == [(42,)]
        first.execute("DROP TABLE shared_probe")
    finally:
        first.close()
        second.close()
        held_fill.release.set()
        store.close()


def test_a_failed_rebuild_is_tried_again_and_reads_work_meanwhile(
    data_dir: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, expected = filled_directory_without_index(data_dir)
    # 5 s in service, doubled after each failure up to 300 s: quicker here.
    monkeypatch.setattr(live_reads, "_REBUILD_RETRY", 0.2)
    monkeypatch.setattr(live_reads, "_REBUILD_RETRY_MAX", 0.4)
    # A real I/O failure of the index alone: a directory stands where its write-ahead log
    # would go, while the Parquet files are read and written as usual.
    blocked = data_dir / (_INDEX + ".wal")
    blocked.mkdir()
    caplog.set_level(logging.INFO, logger="otel_feedback_collector.storage")
    store = SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000)
    within(30, "opening the store", store.open)
    try:
        deadline = time.monotonic() + 30
        while not any("Rebuilding the trace index failed" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the rebuild never failed"
            time.sleep(0.05)
        assert not store._reads.usable
        assert_reads_equal_parquet(store, expected)
        written = write_one_trace(store, "after the failure", step=6)
        within(30, "a flush while the index is down", store.flush)
        during = parquet_reads(data_dir)
        assert trace_ids(during) == trace_ids(expected) | {written}
        assert_reads_equal_parquet(store, during)

        blocked.rmdir()  # room again: the next try succeeds
        assert store.wait_for_trace_index(60)
        assert_reads_equal_parquet(store, during)
    finally:
        store.close()


_FOREVER = "SELECT sum(hash(range)) FROM range(1000000000000000)"  # days of work: only an interrupt ends it


def test_closing_the_store_during_a_rebuild_stops_it_and_the_next_start_rebuilds(
    data_dir: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, expected = filled_directory_without_index(data_dir)
    running: list[duckdb.DuckDBPyConnection] = []
    entered = threading.Event()
    real = LiveReads._fill

    def endless_fill(reads: LiveReads, connection: duckdb.DuckDBPyConnection, manifest: Manifest) -> None:
        # A rebuild statement that runs long (as one does at ten million spans), on the index's
        # own connection: what closing the store must interrupt.
        running.append(connection)
        entered.set()
        connection.execute(_FOREVER).fetchall()
        real(reads, connection, manifest)

    monkeypatch.setattr(LiveReads, "_fill", endless_fill)
    try:
        store = SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000)
        within(30, "opening the store", store.open)
        assert entered.wait(30), "the rebuild never started"
        within(30, "closing the store during a rebuild", store.close)
    finally:
        for connection in running:  # a version that cannot stop it: end it here
            with contextlib.suppress(duckdb.Error):
                connection.interrupt()
    monkeypatch.undo()
    caplog.set_level(logging.INFO, logger="otel_feedback_collector.storage")
    store = open_store(data_dir)
    try:
        assert store.wait_for_trace_index(60)
        assert sum(_REBUILDING in record.getMessage() for record in caplog.records) == 1
        assert_reads_equal_parquet(store, expected)
    finally:
        store.close()


# -- a real collector process ------------------------------------------------------------------

_PROTOBUF = {"Content-Type": "application/x-protobuf"}


def send_traces(client: httpx.Client, collector: CollectorProcess, traces: int) -> set[str]:
    """Send ``traces`` GenAI traces over OTLP/HTTP; returns their ids once acknowledged."""
    request = genai_trace_request(traces, text_bytes=200)
    response = client.post(f"{collector.http_url}/v1/traces", content=request.SerializeToString(), headers=_PROTOBUF)
    assert response.status_code == 200, response.text
    return {span.trace_id.hex() for span in request.resource_spans[0].scope_spans[0].spans}


def listed_traces(client: httpx.Client, collector: CollectorProcess) -> set[str]:
    response = client.get(f"{collector.http_url}/api/v1/traces", params={"max_results": 1000})
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_page_token"] is None
    return {trace["trace_id"] for trace in page["traces"]}


def test_a_collector_killed_after_acknowledging_restarts_without_a_rebuild(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    acknowledged: set[str] = set()
    with open(tmp_path / "killed.log", "wb") as log, httpx.Client(timeout=30) as client:
        collector = CollectorProcess(data_dir, log_file=log).start()
        try:
            acknowledged |= send_traces(client, collector, 10)
            deadline = time.monotonic() + 30
            while not acknowledged <= listed_traces(client, collector):  # flushed and in the index
                assert time.monotonic() < deadline, "the first traces never became readable"
                time.sleep(0.1)
            for _ in range(10):
                acknowledged |= send_traces(client, collector, 10)
        finally:
            collector.kill()  # SIGKILL: right after the last acknowledgement
    assert len(acknowledged) == 110

    log_path = tmp_path / "restarted.log"
    with open(log_path, "wb") as log, httpx.Client(timeout=30) as client:
        restarted = CollectorProcess(data_dir, log_file=log).start()
        try:
            listed = listed_traces(client, restarted)
        finally:
            restarted.stop()
    text = log_path.read_text()
    assert "otel_feedback_collector" in text  # its INFO log is there to look at
    assert _REBUILDING not in text
    assert "rebuilt in the background" not in text
    assert listed == acknowledged


def test_a_trace_resent_while_the_index_is_rebuilt_is_counted_once(data_dir: Path, held_fill: HeldFill) -> None:
    """Flushes during a rebuild store spans without the check that they are new: an export
    sent again (an SDK retrying after a timeout) is then stored twice, and the index rows the
    rebuild adds for those flushes must still count each span once, as the Parquet reads do."""
    _, before = filled_directory_without_index(data_dir)
    store = open_while_rebuilding(data_dir, held_fill)
    try:
        trace_id = os.urandom(16)
        root, children = chain(trace_id, step=6, text="resent", tokens=11)
        for _ in range(2):  # two flushes: the second is the resend
            store.write_traces(traces_request([root, *children]))
            within(30, "a flush during the rebuild", store.flush)
        with store._compaction_mutex:
            held_fill.release.set()
            assert store.wait_for_trace_index(60)
            expected = parquet_reads(data_dir)
            (resent,) = [row for row in expected["traces"] if row["trace_id"] == trace_id.hex()]
            assert resent["span_count"] == 3
            assert_reads_equal_parquet(store, expected)
    finally:
        held_fill.release.set()
        store.close()
