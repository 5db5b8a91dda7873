"""Compaction's merges in a child process (merge_worker.py): what a killed child, a killed
collector, ``close`` and a failing merge leave behind.

Everything is real: the store starts its merge child with ``subprocess``, the tests kill it (or
the collector process around it) with SIGKILL. To kill at a known moment of a merge, the test
seam ``OTEL_FEEDBACK_MERGE_WORKER_PAUSE`` (a folder) makes the child stop once its merged files
are written, pending, and write its pid into ``<folder>/paused``; nothing is timed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from otel_feedback_collector.storage import AssessmentRecord, SpanStore
from otel_feedback_collector.storage.datasets import SPANS, data_file_name, pending_file
from otel_feedback_collector.storage.merge_worker import PAUSE_VARIABLE, MergeFailed
from disk_faults import fill_disk
from folder_globs import duckdb_glob_counts, parquet_names
from otlp_builders import genai_trace, traces_request

_FLUSHES = 4
_SPANS = _FLUSHES * 2 * 3
_WAIT = 120.0  # bound of every wait below (never reached when things work)

_COLLECTOR = """
import sys
from otel_feedback_collector.storage import SpanStore

store = SpanStore(sys.argv[1], compaction_fan_in=1000, retired_file_grace=3600)
store.open()
store.compact(full=True)  # pauses in the merge child until this process is killed
sys.exit(3)
"""


def _fill(data_dir: Path, store: SpanStore | None = None) -> list[tuple]:
    """Four flushes of two traces and an assessment each; returns the spans as the view shows them."""
    own = store is None
    target = store or SpanStore(data_dir, compaction_fan_in=1000)
    if own:
        target.open()
    try:
        for number in range(_FLUSHES):
            traces = [genai_trace(text=f"{number}-{i}") for i in range(2)]
            target.write_traces(traces_request([s for _, spans in traces for s in spans]))
            target.write_assessments(
                [AssessmentRecord(trace_id=traces[0][0].hex(), name="user_feedback", value=True)]
            )
            target.flush()
        return _spans(target)
    finally:
        if own:
            target.close()


def _spans(store: SpanStore) -> list[tuple]:
    connection = store.connect()
    try:
        return connection.execute("SELECT * FROM spans ORDER BY trace_id, span_id").fetchall()
    finally:
        connection.close()


def _folders(data_dir: Path) -> dict[str, list[str]]:
    """Every name in the dataset folders and in tmp/ (hidden pending files included)."""
    found = {
        dataset: sorted(p.name for p in (data_dir / dataset).iterdir() if p.is_file())
        for dataset in ("spans", "assessments", "trace_summaries")
    }
    found["tmp"] = sorted(str(p.relative_to(data_dir)) for p in (data_dir / "tmp").rglob("*") if p.is_file())
    return found


def _pending(data_dir: Path) -> list[str]:
    return [p.name for p in data_dir.rglob("*.tmp")]


def _wait_for_pause(pause: Path) -> int:
    """The merge child's pid, once it paused with its outputs written."""
    deadline = time.monotonic() + _WAIT
    # The pid is written right after the file is created: wait for it, not for a while.
    while not ((pause / "paused").exists() and (pause / "paused").read_text().isdigit()):
        assert time.monotonic() < deadline, "the merge child never reached the pause"
        time.sleep(0.05)
    return int((pause / "paused").read_text())


def _gone(pid: int) -> bool:
    """True once ``pid`` no longer runs (exited, or a zombie nobody reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + _WAIT
    while not _gone(pid):
        assert time.monotonic() < deadline, f"process {pid} still runs"
        time.sleep(0.05)


class _Compaction(threading.Thread):
    """``store.compact(full=True)`` in a thread: it blocks while the child is paused."""

    def __init__(self, store: SpanStore) -> None:
        super().__init__(daemon=True)
        self._store = store
        self.result: int | None = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.result = self._store.compact(full=True)
        except BaseException as error:  # noqa: BLE001 - looked at by the test
            self.error = error


def test_a_merge_child_killed_mid_merge_changes_nothing_and_the_next_merge_gets_a_new_child(
    store: SpanStore, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spans = _fill(data_dir, store)
    manifest_before = (data_dir / "manifest.json").read_text()
    folders_before = _folders(data_dir)
    pause = tmp_path / "pause"
    pause.mkdir()
    monkeypatch.setenv(PAUSE_VARIABLE, str(pause))

    compaction = _Compaction(store)
    child = _wait_for_pause(pause)
    assert _pending(data_dir), "the child paused with its merged files written, pending"
    os.kill(child, signal.SIGKILL)
    compaction.join(_WAIT)

    assert isinstance(compaction.error, MergeFailed)
    assert "ended during a merge" in str(compaction.error)
    assert (data_dir / "manifest.json").read_text() == manifest_before
    assert _folders(data_dir) == folders_before  # pending outputs gone, live files in place
    assert _spans(store) == spans
    assert duckdb_glob_counts(data_dir, "spans") == (_SPANS, _SPANS)

    monkeypatch.delenv(PAUSE_VARIABLE)
    assert store.compact(full=True) == 2 * _FLUSHES  # four span and four assessment files
    assert store._merger.pid not in (None, child)  # a new child did it
    assert _spans(store) == spans
    assert duckdb_glob_counts(data_dir, "spans") == (_SPANS, _SPANS)
    assert duckdb_glob_counts(data_dir, "assessments") == (_FLUSHES, _FLUSHES)
    assert len(parquet_names(data_dir, "spans")) == 1
    assert not _pending(data_dir)


def test_the_merge_child_ends_soon_after_the_collector_is_killed_and_a_restart_cleans_up(
    data_dir: Path, tmp_path: Path
) -> None:
    spans = _fill(data_dir)
    manifest_before = json.loads((data_dir / "manifest.json").read_text())
    pause = tmp_path / "pause"
    pause.mkdir()
    collector = subprocess.Popen(
        [sys.executable, "-c", _COLLECTOR, str(data_dir)],
        env={**os.environ, PAUSE_VARIABLE: str(pause)},
    )
    try:
        child = _wait_for_pause(pause)
        assert _pending(data_dir)
        collector.kill()
        assert collector.wait(_WAIT) == -signal.SIGKILL
        _wait_gone(child)  # its lifeline (stdin) ended with the collector
    finally:
        collector.kill()
        collector.wait()

    with SpanStore(data_dir, compaction_fan_in=1000) as store:
        assert not _pending(data_dir)  # the restart removed the unpublished outputs
        assert not [p for p in (data_dir / "tmp").rglob("*") if p.is_file()]
        assert json.loads((data_dir / "manifest.json").read_text())["datasets"] == manifest_before["datasets"]
        assert _spans(store) == spans
        assert store.compact(full=True) == 2 * _FLUSHES
        assert _spans(store) == spans
        assert duckdb_glob_counts(data_dir, "spans") == (_SPANS, _SPANS)


def test_close_stops_a_merge_in_progress_and_leaves_the_live_files(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spans = _fill(data_dir)
    folders_before = _folders(data_dir)
    pause = tmp_path / "pause"
    pause.mkdir()
    monkeypatch.setenv(PAUSE_VARIABLE, str(pause))
    store = SpanStore(data_dir, compaction_fan_in=1000)
    store.open()
    compaction = _Compaction(store)
    child = _wait_for_pause(pause)

    store.close()  # the paused child never answers: close must end it, not wait for it

    compaction.join(_WAIT)
    assert isinstance(compaction.error, MergeFailed)
    assert "closing" in str(compaction.error)
    _wait_gone(child)
    assert _folders(data_dir) == folders_before
    monkeypatch.delenv(PAUSE_VARIABLE)
    with SpanStore(data_dir, compaction_fan_in=1000) as reopened:
        assert _spans(reopened) == spans


def test_close_ends_an_idle_merge_child(store: SpanStore, data_dir: Path) -> None:
    _fill(data_dir, store)
    assert store.compact(full=True) == 2 * _FLUSHES
    child = store._merger.pid
    assert child is not None
    store.close()
    _wait_gone(child)


def _spoil_data_pages(path: Path) -> None:
    """Overwrite a Parquet file's column data, keeping its footer readable: the file passes
    the footer check and fails only when a merge decodes its pages."""
    data = bytearray(path.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little")
    end = len(data) - 8 - footer
    data[4:end] = bytes([0xA5]) * (end - 4)
    path.write_bytes(bytes(data))


def _spoil_first_span_file(data_dir: Path, caplog: pytest.LogCaptureFixture) -> dict:
    """Four flushes with the first span file's pages spoiled, so every merge of it fails;
    the store's log captured from DEBUG on. Returns the manifest."""
    _fill(data_dir)
    manifest = json.loads((data_dir / "manifest.json").read_text())
    _spoil_data_pages(data_dir / manifest["datasets"]["spans"][0]["path"])
    caplog.set_level(logging.DEBUG, logger="otel_feedback_collector.storage")
    return manifest


def _wait_for_failed_merges(caplog: pytest.LogCaptureFixture, count: int) -> None:
    deadline = time.monotonic() + _WAIT
    while sum("Compaction failed again" in r.getMessage() for r in caplog.records) < count:
        assert time.monotonic() < deadline, "the compactor did not retry the failing merge"
        time.sleep(0.05)


def test_a_merge_that_fails_in_the_child_is_logged_once_and_ingest_goes_on(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    manifest = _spoil_first_span_file(data_dir, caplog)
    store = SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=2, compaction_interval=0.1)
    store.open()
    try:
        _wait_for_failed_merges(caplog, 3)
        failures = [r for r in caplog.records if r.levelno >= logging.WARNING and "Compaction failed" in r.getMessage()]
        assert len(failures) == 1
        assert "failed in the compaction process" in str(failures[0].exc_info[1])
        assert json.loads((data_dir / "manifest.json").read_text())["datasets"]["spans"] == manifest["datasets"]["spans"]
        assert not _pending(data_dir)

        trace_id, more = genai_trace(text="after the failure")
        store.write_traces(traces_request(more))
        store.flush()
        # The spoiled file fails any query that reads it, so the new spans are read from the
        # files the flush added to the manifest.
        live = json.loads((data_dir / "manifest.json").read_text())["datasets"]["spans"]
        added = [f["path"] for f in live if f not in manifest["datasets"]["spans"]]
        assert added
        table = pq.read_table([data_dir / path for path in added], columns=["trace_id"])
        assert table.column("trace_id").to_pylist() == [trace_id.hex()] * 3
    finally:
        store.close()


def test_a_failing_merge_leaves_the_file_a_flush_is_writing(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed merge cleans up only what it wrote: a sweep of every unpublished file would
    delete a flush's pending file mid-write (the flush then fails and is retried)."""
    _spoil_first_span_file(data_dir, caplog)
    store = SpanStore(data_dir, flush_interval=3600, compaction_fan_in=2, compaction_interval=0.1)
    store.open()
    try:
        # What a flush has open while it writes a level-0 file (open() swept older ones away).
        in_progress = pending_file(data_dir, data_file_name(SPANS, level=0, number=999_999))
        in_progress.write_bytes(b"a flush is writing this")
        _wait_for_failed_merges(caplog, 2)
        assert in_progress.read_bytes() == b"a flush is writing this"
    finally:
        store.close()


def test_a_merge_on_a_full_disk_changes_nothing_and_succeeds_once_there_is_room(
    mount_tmpfs: Callable[..., Path],
) -> None:
    disk = mount_tmpfs(size="16m")
    data_dir = disk / "data"
    store = SpanStore(data_dir, compaction_fan_in=1000, retired_file_grace=3600)
    store.open()
    try:
        spans = _fill(data_dir, store)
        manifest_before = (data_dir / "manifest.json").read_text()
        folders_before = _folders(data_dir)
        fill_disk(disk / "ballast")  # to the last byte: the merged files cannot be written

        with pytest.raises(MergeFailed) as failed:
            store.compact(full=True)
        assert "No space left on device" in str(failed.value)
        assert (data_dir / "manifest.json").read_text() == manifest_before
        assert _folders(data_dir) == folders_before  # no partial file left anywhere
        assert _spans(store) == spans

        (disk / "ballast").unlink()
        assert store.compact(full=True) == 2 * _FLUSHES
        assert _spans(store) == spans
        assert duckdb_glob_counts(data_dir, "spans") == (_SPANS, _SPANS)
    finally:
        store.close()
