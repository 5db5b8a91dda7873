"""The collector's indexed reads (trace index, pooled cursors) give exactly the rows the
Parquet-only connection gives, on a directory written over several flushes, before and after
a full compaction; and a trace's request is its root span's input however the spans arrived."""

from __future__ import annotations

from otel_feedback_collector.query.search import trace_rows
from otel_feedback_collector.storage import SpanStore, connect
from read_scenario import collector_reads, fill, parquet_reads


def test_indexed_reads_equal_parquet_reads_before_and_after_compaction(store: SpanStore) -> None:
    scenario = fill(store)
    assert store._reads.usable  # the reads below go through the index

    expected = parquet_reads(store.data_dir)
    # The scenario is what it claims to be (else the comparison proves little).
    assert len(expected["traces"]) == 5
    assert {row["trace_id"] for row in expected["searches"]["status = 'ERROR' / None"][0]} == {scenario.error}
    feedback_false = [row["trace_id"] for page in expected["searches"]["assessments.user_feedback = false / None"] for row in page]
    assert feedback_false == [scenario.late_plain, scenario.late_root]
    late = next(row for row in expected["traces"] if row["trace_id"] == scenario.late_root)
    assert (late["span_count"], late["total_tokens"], late["name"]) == (3, 60, "chat_app late")
    assert expected["span_types"] == ["CHAIN", "LLM", "RETRIEVER"]
    assert len(expected["costs"]) == 4 and all(cost > 0 for cost in expected["costs"].values())

    for read in collector_reads(store):
        assert read == expected
        assert read["one_trace_spans"] == read["spans_by_trace"]  # the time bounds lose no span
        assert read["one_trace_spans_in_read_window"] == read["spans_by_trace"]
        assert read["windows_agree"]
        assert read["trace_and_window"] == {row["trace_id"]: row for row in read["traces"]}

    assert store.compact(full=True) > 0
    after = parquet_reads(store.data_dir)
    assert after == expected
    for read in collector_reads(store):
        assert read == expected


def test_request_is_the_root_input_when_the_root_came_last_or_never(store: SpanStore) -> None:
    scenario = fill(store)
    for connection in (store.connect(), connect(store.data_dir)):
        rows = {row["trace_id"]: row for row in trace_rows(connection, [scenario.late_root, scenario.no_root, scenario.plain])}
        assert rows[scenario.late_root]["request"] == scenario.root_inputs[scenario.late_root]
        assert rows[scenario.late_root]["response"] == "answer: late"
        assert rows[scenario.plain]["request"] == scenario.root_inputs[scenario.plain]
        # No root span: the earliest span stands in for it, as the traces view's name does.
        assert rows[scenario.no_root]["request"] == "retrieve orphan"
        connection.close()
    with store.reading() as pooled:
        row = trace_rows(pooled, [scenario.late_root])[0]
    assert row["request"] == "question: late"

