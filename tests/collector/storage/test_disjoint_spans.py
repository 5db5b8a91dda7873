"""Span runs stay disjoint on (trace_id, span_id): a resent export is stored once (so an
outside glob over ``spans/*.parquet`` sees each span once and summaries are not doubled), and
a directory an older version wrote with a span in two runs reads de-duplicated until a full
compaction makes it disjoint."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import duckdb
import pytest

from otel_feedback_collector.storage import SpanStore, connect
from otlp_builders import genai_trace, make_span, traces_request


def glob_counts(data_dir: Path) -> tuple[int, int]:
    """(rows, distinct span keys) an outside engine sees globbing the span folder."""
    row = duckdb.connect().execute(
        f"SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM read_parquet('{data_dir}/spans/*.parquet')"
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def live_counts(data_dir: Path) -> tuple[int, int]:
    """(rows, distinct span keys) over the manifest's live span files."""
    manifest = json.loads((data_dir / "manifest.json").read_text())
    files = [str(data_dir / entry["path"]) for entry in manifest["datasets"]["spans"]]
    row = duckdb.connect().execute(
        "SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM read_parquet(?)", [files]
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def disjoint_flag(data_dir: Path) -> object:
    return json.loads((data_dir / "manifest.json").read_text()).get("disjoint_spans", "absent")


def trace_summary(connection: duckdb.DuckDBPyConnection, trace_id: bytes) -> tuple[int, int]:
    row = connection.execute(
        "SELECT span_count, total_tokens FROM traces WHERE trace_id = ?", [trace_id.hex()]
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def test_a_resent_export_is_stored_once(store: SpanStore) -> None:
    trace_id, spans = genai_trace()
    other_id, other_spans = genai_trace(text="other")
    request = traces_request([*spans, *other_spans])
    store.write_traces(request)
    store.flush()
    store.write_traces(request)  # the sender did not get the acknowledgement: resent whole
    store.flush()
    # Resent again with one new span of the first trace: only that span is new.
    late = make_span(trace_id=trace_id, name="late tool", parent_span_id=spans[0].span_id,
                     attributes={"openinference.span.kind": "TOOL"})
    store.write_traces(traces_request([*spans, late]))
    store.flush()

    assert store.connect().execute("SELECT count(*) FROM spans").fetchone() == (7,)
    assert glob_counts(store.data_dir) == (7, 7)
    assert disjoint_flag(store.data_dir) is True
    for connection in (store.connect(), connect(store.data_dir)):
        assert trace_summary(connection, trace_id) == (4, 15)
        assert trace_summary(connection, other_id) == (3, 15)
    with store.reading() as pooled:
        assert trace_summary(pooled, trace_id) == (4, 15)


def test_a_resent_export_after_a_restart_and_a_compaction_is_stored_once(data_dir: Path) -> None:
    trace_id, spans = genai_trace()
    request = traces_request(spans)
    with SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000) as first:
        first.write_traces(request)
    with SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000) as second:
        second.write_traces(request)  # after a clean restart: the index is reused
        second.flush()
        assert glob_counts(data_dir) == (3, 3)
        second.compact(full=True)
        second.write_traces(request)  # after a compaction
        second.flush()
        assert second.connect().execute("SELECT count(*) FROM spans").fetchone() == (3,)
        assert trace_summary(second.connect(), trace_id) == (3, 15)
        assert live_counts(data_dir) == (3, 3)
    assert disjoint_flag(data_dir) is True


def write_span_twice_like_an_older_version(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, bytes]:
    """Two flushes storing the same spans (the check an older version lacked is bypassed),
    then the manifest as that version wrote it: no ``disjoint_spans``, no trace index."""
    trace_id, spans = genai_trace()
    other_id, other_spans = genai_trace(text="other")
    store = SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000)
    store.open()
    monkeypatch.setattr(store._reads, "drop_stored_spans", lambda spans, partials, roots, **_: (spans, partials))
    store.write_traces(traces_request([*spans, *other_spans]))
    store.flush()
    store.write_traces(traces_request(spans))
    store.flush()
    store.close()
    path = data_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["disjoint_spans"]
    path.write_text(json.dumps(manifest))
    (data_dir / "trace_index.duckdb").unlink()
    assert live_counts(data_dir) == (9, 6)  # the older directory really holds a span twice
    return trace_id, other_id


def test_an_older_directory_with_a_span_in_two_runs_reads_deduplicated(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace_id, other_id = write_span_twice_like_an_older_version(data_dir, monkeypatch)
    store = SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000)
    store.open()
    try:
        assert store._manifest_snapshot().disjoint_spans is False  # proven not disjoint at open
        with store.reading() as pooled:
            views = [store.connect(), connect(data_dir), pooled]
            for connection in views:
                assert connection.execute("SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM spans").fetchone() == (6, 6)
                assert trace_summary(connection, trace_id) == (3, 15)
                assert trace_summary(connection, other_id) == (3, 15)
        store.compact(full=True)
        assert disjoint_flag(data_dir) is True
        assert live_counts(data_dir) == (6, 6)
        for connection in (store.connect(), connect(data_dir)):
            assert connection.execute("SELECT count(*) FROM spans").fetchone() == (6,)
            assert trace_summary(connection, trace_id) == (3, 15)
    finally:
        store.close()
    with SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000) as reopened:
        assert trace_summary(reopened.connect(), trace_id) == (3, 15)
    assert disjoint_flag(data_dir) is True


def test_an_older_directory_without_repeats_is_proven_disjoint_after_open(data_dir: Path) -> None:
    """Proven by the compactor thread, not at open: the scan of every span key takes a minute
    at fifteen million spans, and the collector must listen at once."""
    with SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000) as first:
        for _ in range(2):
            first.write_traces(traces_request(genai_trace()[1]))
            first.flush()
    path = data_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["disjoint_spans"]
    path.write_text(json.dumps(manifest))
    with SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000) as store:
        deadline = time.monotonic() + 60
        while disjoint_flag(data_dir) is not True:
            assert time.monotonic() < deadline, "never proven disjoint"
            time.sleep(0.05)
        assert store.connect().execute("SELECT count(*) FROM spans").fetchone() == (6,)
