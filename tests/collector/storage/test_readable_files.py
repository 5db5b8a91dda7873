"""A live Parquet file cut short on disk is left out of the views; everything else answers.

The data directory holds several flushes (one span file and one summary file each); one file
is then truncated in place, as a crash or a bad disk might leave it. The views, the REST API,
the UI's traces table, /healthz and ``otel-feedback sql`` must keep answering with the rows of
the intact files.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from otlp_builders import genai_trace, traces_request

from otel_feedback_collector.server import CollectorServer
from otel_feedback_collector.sql_cli import register_sql_command
from otel_feedback_collector.storage import SpanStore, connect
from otel_feedback_collector.storage.manifest import read_manifest
from otel_feedback_collector.storage.readable_files import unreadable_files
from otel_feedback_collector.storage.views import create_views, open_read_connection

FLUSHES = 3
TRACES_PER_FLUSH = 2


@pytest.fixture
def flushed(data_dir: Path) -> Iterator[tuple[SpanStore, list[list[str]]]]:
    """An open store with FLUSHES separate runs; returns the trace ids of each run."""
    store = SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000)
    store.open()
    runs: list[list[str]] = []
    for flush in range(FLUSHES):
        ids = []
        for index in range(TRACES_PER_FLUSH):
            _payload, spans = genai_trace(text=f"q{flush}-{index}")
            store.write_traces(traces_request(spans))
            ids.append(spans[0].trace_id.hex())
        store.flush()
        runs.append(ids)
    try:
        yield store, runs
    finally:
        store.close()


def _cut_in_half(data_dir: Path, dataset: str, index: int) -> tuple[str, set[str]]:
    """Truncate one live file of ``dataset``; return its path and the trace ids it held (a
    background flush may split a batch, so files and batches need not line up)."""
    relative = sorted(f.path for f in read_manifest(data_dir).files[dataset])[index]
    path = data_dir / relative
    held = set(pq.read_table(path, columns=["trace_id"]).column("trace_id").to_pylist())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return relative, held


def _trace_ids(data_dir: Path, view: str = "traces") -> set[str]:
    connection = connect(data_dir)
    try:
        return {row[0] for row in connection.execute(f"SELECT DISTINCT trace_id FROM {view}").fetchall()}
    finally:
        connection.close()


def test_a_truncated_span_file_is_left_out_loudly(
    flushed: tuple[SpanStore, list[list[str]]], data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _store, runs = flushed
    assert len(read_manifest(data_dir).files["spans"]) >= FLUSHES
    caplog.set_level(logging.ERROR)
    broken, lost = _cut_in_half(data_dir, "spans", 1)
    intact = {trace_id for run in runs for trace_id in run} - lost
    assert lost and intact
    assert _trace_ids(data_dir, "spans") == intact
    assert _trace_ids(data_dir, "traces") == intact  # its summaries are left out as well
    assert [r.message for r in caplog.records if broken in r.message]  # logged ...
    caplog.clear()
    _trace_ids(data_dir)
    assert not [r for r in caplog.records if broken in r.message]  # ... once


def test_a_truncated_summary_file_is_recomputed_from_the_spans(
    flushed: tuple[SpanStore, list[list[str]]], data_dir: Path
) -> None:
    _store, runs = flushed
    _cut_in_half(data_dir, "trace_summaries", 0)
    everything = {trace_id for run in runs for trace_id in run}
    assert _trace_ids(data_dir, "traces") == everything
    connection = connect(data_dir)
    try:
        counts = connection.execute("SELECT DISTINCT span_count FROM traces").fetchall()
    finally:
        connection.close()
    assert counts == [(3,)]


def test_api_ui_healthz_and_sql_cli_answer_with_the_intact_files(
    flushed: tuple[SpanStore, list[list[str]]], data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, runs = flushed
    broken, lost = _cut_in_half(data_dir, "spans", 1)
    intact = {trace_id for run in runs for trace_id in run} - lost
    assert lost and intact
    with CollectorServer(data_dir, store=store, port=0, grpc_port=None) as server:
        with httpx.Client(base_url=server.http_url, timeout=30) as http:
            listed = http.get("/api/v1/traces")
            assert listed.status_code == 200, listed.text
            assert {t["trace_id"] for t in listed.json()["traces"]} == intact
            table = http.get("/experiments/test-app")
            assert table.status_code == 200
            assert set(re.findall(r'<tr data-trace-id="([0-9a-f]{32})"', table.text)) == intact
            health = http.get("/healthz")
            assert health.status_code == 200
            assert health.text.splitlines()[0] == "ok" and broken in health.text

    parser = argparse.ArgumentParser(prog="otel-feedback")
    register_sql_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sql", "--data", str(data_dir), "--format", "json",
                              "SELECT DISTINCT trace_id FROM spans"])
    out = io.StringIO()
    assert args.func(args, out=out) == 0
    assert {row["trace_id"] for row in json.loads(out.getvalue())} == intact
    assert f"warning: {broken} is left out" in capsys.readouterr().err


def test_compaction_goes_on_around_a_truncated_file(
    flushed: tuple[SpanStore, list[list[str]]], data_dir: Path
) -> None:
    store, runs = flushed
    broken, lost = _cut_in_half(data_dir, "spans", 1)
    intact = {trace_id for run in runs for trace_id in run} - lost
    store.compact(full=True)  # raised ArrowInvalid on the cut file
    live = {f.path for f in read_manifest(data_dir).files["spans"]}
    assert broken in live  # kept as it is, for whoever restores it
    assert _trace_ids(data_dir) == intact
    assert _trace_ids(data_dir, "spans") == intact


def test_a_manifest_read_before_a_compaction_swap_reads_the_moved_files_from_retired(
    flushed: tuple[SpanStore, list[list[str]]], data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # What `otel-feedback sql` holds when it read manifest.json just before a swap finished:
    # the inputs, which the swap has moved into _retired/ since.
    store, runs = flushed
    before_swap = read_manifest(data_dir)
    expected = store.connect().execute("SELECT * FROM spans ORDER BY ALL").fetchall()
    store.compact(full=True)
    assert not any((data_dir / f.path).exists() for f in before_swap.files["spans"])
    connection = open_read_connection()
    with caplog.at_level(logging.ERROR, logger="otel_feedback_collector.storage"):
        create_views(connection, data_dir, before_swap)
        assert connection.execute("SELECT * FROM spans ORDER BY ALL").fetchall() == expected
        traces = connection.execute("SELECT count(*), sum(span_count) FROM traces").fetchone()
    assert traces == (FLUSHES * TRACES_PER_FLUSH, len(expected))
    assert unreadable_files(data_dir, before_swap) == []
    assert not [r for r in caplog.records if "Leaving" in r.getMessage()]  # not "unreadable"
