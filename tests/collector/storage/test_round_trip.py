"""Write, flush and query through the views; read from a second process while the store runs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from otel_feedback_collector.storage import SpanStore, StoreBusy, StoreLocked, connect
from otlp_builders import genai_trace, make_span, new_trace_id, traces_request


def test_written_spans_are_queryable_after_flush(store: SpanStore) -> None:
    trace_id, spans = genai_trace(text="what is otel?")
    assert store.write_traces(traces_request(spans)) == 3
    store.flush()
    connection = store.connect()
    rows = connection.execute(
        "SELECT name, span_type, parent_span_id IS NULL, model, total_tokens, session_id "
        "FROM spans WHERE trace_id = ? ORDER BY start_time_unix_nano, name",
        [trace_id.hex()],
    ).fetchall()
    assert sorted(rows) == sorted(
        [
            ("chat_app", "CHAIN", True, None, None, "s1"),
            ("retrieve", "RETRIEVER", False, None, None, None),
            ("chat gpt-4o-mini", "LLM", False, "gpt-4o-mini", 15, None),
        ]
    )
    trace = connection.execute(
        "SELECT name, request_preview, response_preview, span_count, total_tokens, status, "
        "session_id, user_id, experiment FROM traces WHERE trace_id = ?",
        [trace_id.hex()],
    ).fetchone()
    assert trace == (
        "chat_app", "question: what is otel?", "answer: what is otel?", 3, 15, "UNSET",
        "s1", "u1", "test-app",
    )


def test_raw_attributes_resource_and_events_are_kept_as_json(store: SpanStore) -> None:
    trace_id = new_trace_id()
    span = make_span(
        trace_id=trace_id,
        attributes={"count": 3, "ratio": 0.5, "flag": True, "tags": ["a", "b"], "text": "é"},
        events=[("exception", {"exception.message": "bad"})],
        status_error=True,
    )
    store.write_traces(traces_request([span], resource={"service.name": "svc", "env": "dev"}))
    store.flush()
    attributes, resource, events, status, message = store.connect().execute(
        "SELECT attributes, resource_attributes, events, status_code, status_message FROM spans"
    ).fetchone()
    assert json.loads(attributes) == {
        "count": 3, "ratio": 0.5, "flag": True, "tags": ["a", "b"], "text": "é"
    }
    assert json.loads(resource) == {"service.name": "svc", "env": "dev"}
    assert json.loads(events)[0]["name"] == "exception"
    assert json.loads(events)[0]["attributes"] == {"exception.message": "bad"}
    assert (status, message) == ("ERROR", "boom")
    trace_status = store.connect().execute("SELECT status FROM traces").fetchone()
    assert trace_status == ("ERROR",)


def test_parquet_files_are_readable_by_pyarrow_and_polars(store: SpanStore, data_dir: Path) -> None:
    trace_id, spans = genai_trace()
    store.write_traces(traces_request(spans))
    store.flush()
    live = [data_dir / f["path"] for f in json.loads((data_dir / "manifest.json").read_text())["datasets"]["spans"]]
    table = pq.read_table(live)
    assert table.num_rows == 3
    assert set(table.column("trace_id").to_pylist()) == {trace_id.hex()}
    frame = pl.read_parquet(live)
    assert frame.filter(pl.col("span_type") == "LLM")["model"].to_list() == ["gpt-4o-mini"]


def test_second_process_reads_while_the_store_is_open(store: SpanStore, data_dir: Path) -> None:
    for _ in range(3):
        store.write_traces(traces_request(genai_trace()[1]))
    store.flush()
    code = (
        "import sys; from otel_feedback_collector.storage import connect; "
        "c = connect(sys.argv[1]); "
        "print(c.execute('SELECT count(*) FROM spans').fetchone()[0], "
        "c.execute('SELECT count(*) FROM traces').fetchone()[0])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(data_dir)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert result.stdout.split() == ["9", "3"]


def test_a_second_writer_on_the_same_directory_is_refused(store: SpanStore, data_dir: Path) -> None:
    with pytest.raises(StoreLocked, match="Another collector"):
        SpanStore(data_dir).open()


def test_empty_directory_has_empty_views(data_dir: Path) -> None:
    data_dir.mkdir()
    connection = connect(data_dir)
    for view in ("spans", "traces", "assessments", "assessment_log"):
        assert connection.execute(f"SELECT count(*) FROM {view}").fetchone() == (0,)


def test_write_path_over_its_limit_raises_store_busy(data_dir: Path) -> None:
    span_store = SpanStore(data_dir, flush_interval=60, max_pending_bytes=2000, pending_wait=0)
    span_store.open()
    try:
        span_store.write_traces(traces_request(genai_trace(text="x" * 100)[1]))
        request = traces_request(genai_trace(text="x" * 1500)[1])
        with pytest.raises(StoreBusy) as raised:
            span_store.write_traces(request)
        assert raised.value.retry_after > 0
    finally:
        span_store.close()


def test_one_request_larger_than_the_limit_is_stored_when_nothing_waits(data_dir: Path) -> None:
    # Refusing it would answer "busy, retry" forever: no amount of waiting makes it fit.
    span_store = SpanStore(data_dir, flush_interval=60, max_pending_bytes=2000, pending_wait=0)
    span_store.open()
    try:
        trace_id, spans = genai_trace(text="x" * 5000)
        assert span_store.write_traces(traces_request(spans)) == 3
        with pytest.raises(StoreBusy):  # now something waits: the limit applies again
            span_store.write_traces(traces_request(genai_trace(text="y" * 100)[1]))
        span_store.flush()
        count = span_store.connect().execute(
            "SELECT count(*) FROM spans WHERE trace_id = ?", [trace_id.hex()]
        ).fetchone()
        assert count == (3,)
    finally:
        span_store.close()


def test_spans_become_queryable_without_an_explicit_flush(store: SpanStore) -> None:
    trace_id, spans = genai_trace()
    store.write_traces(traces_request(spans))
    # The background flush (every 0.2 s here) publishes them; the deadline is only a safety net.
    deadline = time.monotonic() + 30.0
    count = 0
    while time.monotonic() < deadline and count < 3:
        count = store.connect().execute("SELECT count(*) FROM spans").fetchone()[0]
    assert count == 3
