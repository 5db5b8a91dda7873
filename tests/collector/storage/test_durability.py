"""Acknowledged spans survive SIGKILL; damaged WAL files are set aside; resent batches are
stored once, also across a restart and across compaction."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from otel_feedback_collector.storage import SpanStore
from otlp_builders import genai_trace, traces_request

_WRITER_PROCESS = r"""
import sys
sys.path.insert(0, sys.argv[2])
from otel_feedback_collector.storage import SpanStore
from otlp_builders import genai_trace, traces_request

store = SpanStore(sys.argv[1], flush_interval=0.05)
store.open()
while True:
    trace_id, spans = genai_trace(text="y" * 500)
    store.write_traces(traces_request(spans))
    sys.stdout.write(trace_id.hex() + "\n")
    sys.stdout.flush()
"""


def test_sigkill_loses_no_acknowledged_span(data_dir: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _WRITER_PROCESS, str(data_dir), str(Path(__file__).parent)],
        stdout=subprocess.PIPE, text=True,
    )
    acknowledged: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while len(acknowledged) < 300 and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            acknowledged.append(line.strip())
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert len(acknowledged) == 300
    with SpanStore(data_dir) as store:
        stored = {
            row[0]
            for row in store.connect().execute("SELECT DISTINCT trace_id FROM spans").fetchall()
        }
        counts = store.connect().execute(
            "SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM spans"
        ).fetchone()
    assert set(acknowledged) <= stored
    assert counts[0] == counts[1]  # nothing doubled by the replay


_CRASHING_WRITER = r"""
import os, sys
sys.path.insert(0, sys.argv[2])
from otel_feedback_collector.storage import SpanStore
from otlp_builders import genai_trace, traces_request

store = SpanStore(sys.argv[1], flush_interval=3600)
store.open()
for _ in range(2):
    trace_id, spans = genai_trace()
    store.write_traces(traces_request(spans))
    print(trace_id.hex(), flush=True)
os._exit(0)  # die without closing: the records exist only in the WAL
"""


def test_damaged_wal_tail_is_set_aside_and_intact_records_recovered(data_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _CRASHING_WRITER, str(data_dir), str(Path(__file__).parent)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    first_id, second_id = result.stdout.split()
    segment = sorted((data_dir / "wal").glob("segment-*.wal"))[-1]
    with open(segment, "r+b") as handle:  # tear the tail of the last record
        handle.truncate(segment.stat().st_size - 10)
    with SpanStore(data_dir) as recovered:
        stored = {
            row[0] for row in recovered.connect().execute("SELECT trace_id FROM spans").fetchall()
        }
    assert first_id in stored
    assert second_id not in stored  # the torn record is the only loss
    damaged = list((data_dir / "wal" / "damaged").iterdir())
    assert len(damaged) == 1 and damaged[0].name.startswith(segment.name)
    assert not segment.exists()


def test_garbage_wal_file_does_not_stop_start_up(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (data_dir / "wal").mkdir(parents=True)
    (data_dir / "wal" / "segment-000000000001.wal").write_bytes(b"not a wal record at all")
    with SpanStore(data_dir) as store:
        trace_id, spans = genai_trace()
        store.write_traces(traces_request(spans))
        store.flush()
        assert store.connect().execute("SELECT count(*) FROM spans").fetchone() == (3,)
    assert len(list((data_dir / "wal" / "damaged").iterdir())) == 1
    assert "WRITE-AHEAD LOG DAMAGED" in caplog.text


def test_resent_batch_is_stored_once_across_flushes_restart_and_compaction(
    data_dir: Path,
) -> None:
    trace_id, spans = genai_trace()
    request = traces_request(spans)
    store = SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000)
    store.open()
    store.write_traces(request)
    store.write_traces(request)  # same flush
    store.flush()
    store.write_traces(request)  # a later flush: another file
    store.flush()
    assert store.connect().execute("SELECT count(*) FROM spans").fetchone() == (3,)
    store.close()
    with SpanStore(data_dir, compaction_fan_in=1000) as reopened:
        reopened.write_traces(request)  # after a restart
        reopened.flush()
        connection = reopened.connect()
        assert connection.execute("SELECT count(*) FROM spans").fetchone() == (3,)
        assert connection.execute("SELECT span_count FROM traces").fetchone() == (3,)
        reopened.compact(full=True)
        reopened.write_traces(request)  # after compaction
        reopened.flush()
        assert reopened.connect().execute("SELECT count(*) FROM spans").fetchone() == (3,)
        reopened.compact(full=True)
    live = json.loads((data_dir / "manifest.json").read_text())["datasets"]["spans"]
    assert len(live) == 1 and live[0]["rows"] == 3  # physically one copy too
