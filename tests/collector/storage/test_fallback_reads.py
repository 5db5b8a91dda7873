"""Reads while the trace index is rebuilt in the background use the Parquet files in one
memory-bounded database, and are stopped rather than run for minutes."""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_feedback_collector.storage import IndexRebuilding, SpanStore
from otel_feedback_collector.storage import store as store_module
from otlp_builders import genai_trace, traces_request


def test_a_long_read_while_the_index_is_rebuilt_is_stopped_with_the_same_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held_fill: HeldFill
) -> None:
    """A read the fallback database could take minutes over (at fifteen million spans the first
    listing ran 110 s) is interrupted rather than take the rebuild's CPU; a short one answers."""
    data_dir = tmp_path / "data"
    with SpanStore(data_dir) as store:
        store.write_traces(traces_request(genai_trace()[1]))
    (data_dir / "trace_index.duckdb").unlink()
    monkeypatch.setattr(store_module, "_FALLBACK_READ_SECONDS", 0.3)
    held_fill.hold()
    with SpanStore(data_dir) as store:
        assert not store._reads.usable
        with store.reading() as connection:  # a short read answers from the Parquet files
            assert connection.execute("SELECT count(*) FROM spans").fetchone() == (3,)
        with pytest.raises(IndexRebuilding, match="being rebuilt"):
            with store.reading() as connection:
                connection.execute("SELECT sum(x * x) FROM range(30000000000) AS t(x) WHERE x % 7 = 1").fetchall()
        # The data is too large for reads without the index: the next ones are refused at
        # once (not after taking the rebuild's CPU for the timeout each) until it is back.
        with pytest.raises(IndexRebuilding):
            with store.reading() as connection:
                raise AssertionError("not reached: no connection is handed out")
        held_fill.release.set()
        assert store.wait_for_trace_index()
        with store.reading() as connection:  # with the index: never interrupted
            assert connection.execute("SELECT count(*) FROM spans").fetchone() == (3,)
