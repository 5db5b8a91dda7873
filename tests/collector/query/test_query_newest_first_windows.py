"""Newest-first searches on the trace index try its newest rows first (search.py): every page
is the same as a search over all rows, whatever order the traces arrived in."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from otel_feedback_collector.query import find_traces, search
from otel_feedback_collector.storage import AssessmentRecord, SpanStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "storage"))
from otlp_builders import make_span, new_trace_id, traces_request  # noqa: E402

_MINUTE = 60 * 10**9
_DAY_ONE = 1_790_000_000 * 10**9
# Small windows so that a few dozen traces exercise them (the real ones are thousands of rows).
_WINDOWS = (24, 48)
_FILTERS = (None, "assessments.user_feedback = false", "assessments.rare = true", "assessments.user_feedback = true")


def _write_flush(store: SpanStore, minutes: range, *, tie: bool = False) -> None:
    """One flush of one-span traces starting at those minutes (all at one moment with ``tie``),
    with feedback on every third (false on every other of those) and a "rare" assessment on
    every fifth of the oldest (so a search for it finds nothing among the newest rows)."""
    spans, feedback = [], []
    for minute in minutes:
        trace_id = new_trace_id()
        start = _DAY_ONE + (0 if tie else minute * _MINUTE)
        spans.append(make_span(trace_id=trace_id, name=f"m{minute}", start_ns=start))
        if minute % 3 == 0:
            feedback.append(AssessmentRecord(trace_id=trace_id.hex(), name="user_feedback", value=minute % 2 == 0))
        if minute < 60 and minute % 5 == 0:
            feedback.append(AssessmentRecord(trace_id=trace_id.hex(), name="rare", value=True))
    store.write_traces(traces_request(spans))
    store.write_assessments(feedback)
    store.flush()


@pytest.fixture
def indexed(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of the trace index over traces that arrived out of time order."""
    store = SpanStore(tmp_path / "data", flush_interval=3600, compaction_fan_in=1000)
    store.open()
    try:
        _write_flush(store, range(100, 160))  # newer traces arrive first,
        _write_flush(store, range(0, 60))  # then older ones,
        _write_flush(store, range(300, 330), tie=True)  # many at one moment (the oldest),
        _write_flush(store, range(200, 210))  # a few newer than all so far,
        _write_flush(store, range(60, 100))  # some in the middle,
        _write_flush(store, range(400, 440))  # and the newest last, as usual
        with store.reading() as connection:
            yield connection
    finally:
        store.close()


def _pages(connection: duckdb.DuckDBPyConnection, filter: str | None, max_results: int) -> list[list[str]]:  # noqa: A002
    pages, token = [], None
    while True:
        page = find_traces(connection, filter=filter, max_results=max_results, page_token=token,
                           include_bodies=False)
        pages.append([row["trace_id"] for row in page.rows])
        token = page.next_page_token
        if token is None:
            return pages


def test_the_index_cursor_gives_a_bound_over_its_newest_rows(indexed: duckdb.DuckDBPyConnection) -> None:
    bound, whole = indexed.execute("SELECT * FROM newest_start_bound(10)").fetchone()
    assert bound is not None and whole is False  # 240 rows: the last 10 are not all of them
    assert indexed.execute("SELECT whole FROM newest_start_bound(1000)").fetchone() == (True,)


@pytest.mark.parametrize("filter", _FILTERS)
@pytest.mark.parametrize("max_results", [1, 3, 7, 50])
def test_every_page_is_the_page_of_a_search_over_all_rows(
    indexed: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch, filter: str | None, max_results: int  # noqa: A002
) -> None:
    monkeypatch.setattr(search, "_NEWEST_WINDOWS", ())
    everything = _pages(indexed, filter, max_results)
    monkeypatch.setattr(search, "_NEWEST_WINDOWS", _WINDOWS)
    assert _pages(indexed, filter, max_results) == everything
    assert sum(len(page) for page in everything) == len({i for page in everything for i in page}) > 0
