"""A flush of traces new to the index goes in with one INSERT (``add_sql``'s fast path): the
index rows must be exactly those the combining statements give for the same partials and root
notes, and a later flush combining with them must be too."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from otel_feedback_collector.storage.trace_index import ROOTS_SCHEMA, TABLE, TraceIndex, add_sql
from otel_feedback_collector.storage.trace_summaries import SummaryCalculator
from random_spans import random_spans


def _spans(rng: random.Random, rows: int, traces: int) -> pa.Table:
    """Random span rows with times as the writer stores them (0 to the int64 maximum, so a
    trace's duration fits), roots with and without bodies. Starts are unique: of two roots
    starting at once, the index keeps either (as it always did)."""
    spans = random_spans(rng, rows, traces)
    starts = rng.sample(range(10**15), rows)
    ends = [start + rng.randint(0, 10**9) for start in starts]
    for name, values in (("start_time_unix_nano", starts), ("end_time_unix_nano", ends)):
        spans = spans.set_column(spans.schema.get_field_index(name), name, pa.array(values, pa.int64()))
    return spans


def _open(path: Path) -> TraceIndex:
    index = TraceIndex(path)
    index.open(wal_applied_through=0, newest_run=0, rebuild=lambda connection: None)
    return index


def _flush(spans: pa.Table) -> tuple[pa.Table, pa.Table]:
    """A flush's partials and root notes, as the writer hands them to the index."""
    partials, notes = SummaryCalculator().summarize_with_roots(spans)
    assert notes is not None
    return partials, notes.cast(ROOTS_SCHEMA)


def _add_by_combining(index: TraceIndex, partials: pa.Table, roots: pa.Table) -> None:
    """What ``TraceIndex.add`` did for every flush before the fast path."""
    cursor = index.cursor()
    try:
        cursor.execute("BEGIN")
        cursor.register("_incoming", partials)
        cursor.register("_incoming_roots", roots)
        add_sql(cursor, "_incoming", roots="_incoming_roots", one_root_row_per_trace=False)
        cursor.execute("COMMIT")
    finally:
        cursor.close()


def _rows(index: TraceIndex) -> list[tuple]:
    cursor = index.cursor()
    try:
        # A trace's cost entries are a bag (readers sum them per group): the order DuckDB's
        # list() aggregate gives a trace noted twice in one flush is not fixed.
        return cursor.execute(
            f"SELECT * REPLACE (list_sort(cost_inputs) AS cost_inputs) FROM {TABLE} ORDER BY trace_id"
        ).fetchall()
    finally:
        cursor.close()


def test_new_traces_get_the_rows_the_combining_statements_give(tmp_path: Path) -> None:
    rng = random.Random(5)
    first = _spans(rng, 3000, 600)
    # The second flush: more spans of some of those traces (combined), and new traces.
    second = _spans(rng, 1500, 300)
    again = rng.sample(sorted(set(first["trace_id"].to_pylist())), 100)
    ids = second["trace_id"].to_pylist()
    ids[: len(again)] = again
    second = second.set_column(second.schema.get_field_index("trace_id"), "trace_id", pa.array(ids))
    fast, combining = _open(tmp_path / "fast.duckdb"), _open(tmp_path / "combining.duckdb")
    try:
        for spans in (first, second):
            partials, roots = _flush(spans)
            fast.add(partials, None, roots, run=1, through=0)
            _add_by_combining(combining, partials, roots)
            assert _rows(fast) == _rows(combining)
        rows = _rows(fast)
        assert len(rows) == len(set(first["trace_id"].to_pylist()) | set(ids))
        cursor = fast.cursor()
        kinds = cursor.execute(
            f"SELECT count(*) FILTER (WHERE root_start IS NULL), count(*) FILTER (WHERE root_request IS NOT NULL) FROM {TABLE}"
        ).fetchone()
        cursor.close()
        assert kinds is not None and kinds[0] > 0 and kinds[1] > 0  # traces without a root, roots with a body
    finally:
        fast.close(wal_applied_through=None)
        combining.close(wal_applied_through=None)


def test_a_trace_noted_twice_in_one_flush_keeps_its_earliest_root(tmp_path: Path) -> None:
    spans = _spans(random.Random(6), 400, 50)
    cut = spans.num_rows // 2
    partials_a, roots_a = _flush(spans.slice(0, cut))
    partials_b, roots_b = _flush(spans.slice(cut))
    # One flush of two chunks: partials merged per trace by the writer; notes as noted.
    partials = SummaryCalculator().merge([partials_a, partials_b])
    roots = pa.concat_tables([roots_a, roots_b])
    assert pc.count_distinct(roots["trace_id"]).as_py() < roots.num_rows
    # One note that does not know its trace's latest start: the trace's stays unknown.
    noted = roots["trace_id"].to_pylist()
    twice = next(trace_id for trace_id in noted if noted.count(trace_id) > 1)
    last_starts = roots["last_start"].to_pylist()
    last_starts[noted.index(twice)] = None
    roots = roots.set_column(roots.schema.get_field_index("last_start"), "last_start", pa.array(last_starts, pa.int64()))
    fast, combining = _open(tmp_path / "fast.duckdb"), _open(tmp_path / "combining.duckdb")
    try:
        fast.add(partials, None, roots, run=1, through=0)
        _add_by_combining(combining, partials, roots)
        assert _rows(fast) == _rows(combining)
        cursor = fast.cursor()
        found = dict(cursor.execute(f"SELECT trace_id, root_start FROM {TABLE}").fetchall())
        cursor.close()
        earliest: dict[str, int | None] = dict.fromkeys(partials["trace_id"].to_pylist())
        for trace_id, start in zip(roots["trace_id"].to_pylist(), roots["root_start"].to_pylist()):
            if start is not None:
                earliest[trace_id] = min(start, earliest[trace_id] or start)
        assert found == earliest  # one row per trace, with its earliest root
        cursor = fast.cursor()
        assert cursor.execute(f"SELECT last_start FROM {TABLE} WHERE trace_id = ?", [twice]).fetchall() == [(None,)]
        cursor.close()
    finally:
        fast.close(wal_applied_through=None)
        combining.close(wal_applied_through=None)
