"""A flush's add that runs out of the trace index's memory is retried with a higher limit
instead of failing the index (which sent every read to the Parquet files and the next flush
into a rebuild: seen adding a million spans at fourteen million)."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import duckdb
import pytest

from otel_feedback_collector.storage import trace_index
from otel_feedback_collector.storage.trace_index import TraceIndex
from test_trace_index_add import _flush, _rows, _spans


def _index(path: Path, memory_limit: str) -> TraceIndex:
    index = TraceIndex(path, memory_limit=memory_limit)
    index.open(wal_applied_through=0, newest_run=0, rebuild=lambda connection: None)
    return index


def _big_flush() -> tuple:
    # 20k traces with root texts: more than 4 MB of DuckDB memory to add.
    return _flush(_spans(random.Random(3), 60_000, 20_000))


def test_an_add_out_of_memory_is_retried_with_a_higher_limit_and_gives_the_same_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    partials, roots = _big_flush()
    small = _index(tmp_path / "small.duckdb", "4MB")
    roomy = _index(tmp_path / "roomy.duckdb", "256MB")
    try:
        with caplog.at_level(logging.WARNING):
            small.add(partials, None, roots, run=1, through=0)
        roomy.add(partials, None, roots, run=1, through=0)
        assert "ran out of its 4 MB" in caplog.text
        assert trace_index._megabytes(small.memory_limit) > 4
        assert _rows(small) == _rows(roomy)
        assert len(_rows(small)) == partials.num_rows
    finally:
        small.close(wal_applied_through=0)
        roomy.close(wal_applied_through=0)


def test_past_the_maximum_the_error_is_raised_and_nothing_is_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trace_index, "_MEMORY_LIMIT_MAX_MB", 8)
    partials, roots = _big_flush()
    index = _index(tmp_path / "index.duckdb", "4MB")
    try:
        with pytest.raises(duckdb.OutOfMemoryException):
            index.add(partials, None, roots, run=1, through=0)
        assert index.memory_limit == "8MB"
        assert _rows(index) == []  # rolled back: the caller fails the index and rebuilds it
    finally:
        index.close(wal_applied_through=0)


def test_memory_limits_read_in_megabytes() -> None:
    assert trace_index._megabytes("64MB") == 64
    assert trace_index._megabytes(" 1GB ") == 1024
    assert trace_index._megabytes("1.5gb") == 1536
