"""The ``traces`` view reads per-trace summaries written at flush and compaction time; it must
give exactly what aggregating the spans gives, however a trace's spans were split."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest

from otel_feedback_collector.storage import SpanStore, connect
from otlp_builders import genai_trace, make_span, new_trace_id, traces_request

# The ``traces`` view as it was before summaries: an aggregate over every span. The oracle for
# every trace.
_ORACLE_SQL = """
SELECT
    trace_id,
    arg_min(name, (parent_span_id IS NOT NULL, start_time_unix_nano)) AS name,
    arg_min(input_preview, (parent_span_id IS NOT NULL, start_time_unix_nano)) AS request_preview,
    arg_min(output_preview, (parent_span_id IS NOT NULL, start_time_unix_nano)) AS response_preview,
    min(start_time) AS start_time,
    max(end_time) AS end_time,
    (max(end_time_unix_nano) - min(start_time_unix_nano)) / 1e6 AS duration_ms,
    CASE WHEN bool_or(status_code = 'ERROR') THEN 'ERROR'
         WHEN bool_or(status_code = 'OK') THEN 'OK' ELSE 'UNSET' END AS status,
    count(*) AS span_count,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(total_tokens) AS total_tokens,
    max(session_id) AS session_id,
    max(user_id) AS user_id,
    arg_min(experiment, (parent_span_id IS NOT NULL, start_time_unix_nano)) AS experiment,
    arg_min(service_name, (parent_span_id IS NOT NULL, start_time_unix_nano)) AS service_name
FROM spans GROUP BY trace_id ORDER BY trace_id
"""


def _traces(connection: duckdb.DuckDBPyConnection) -> list[tuple]:
    return connection.execute("SELECT * FROM traces ORDER BY trace_id").fetchall()


def _assert_matches_oracle(connection: duckdb.DuckDBPyConnection) -> None:
    assert _traces(connection) == connection.execute(_ORACLE_SQL).fetchall()


def _split_trace(start_ns: int) -> tuple[str, list]:
    """A five-span trace whose spans will be sent in separate flushes: the root (with a
    NULL input), an LLM child with tokens, an errored tool and two more children."""
    trace_id = new_trace_id()
    root = make_span(
        trace_id=trace_id, name="agent", start_ns=start_ns, duration_ns=50_000_000,
        attributes={"openinference.span.kind": "AGENT", "output.value": "the answer"},
    )
    children = [
        make_span(
            trace_id=trace_id, name="llm", parent_span_id=root.span_id,
            start_ns=start_ns + 1_000, duration_ns=90_000_000,  # ends after the root
            attributes={
                "openinference.span.kind": "LLM", "input.value": "prompt",
                "gen_ai.usage.input_tokens": 7, "gen_ai.usage.output_tokens": 3,
                "session.id": "s9",
            },
        ),
        make_span(
            trace_id=trace_id, name="tool", parent_span_id=root.span_id, status_error=True,
            start_ns=start_ns + 2_000, attributes={"openinference.span.kind": "TOOL"},
        ),
        make_span(
            trace_id=trace_id, name="llm2", parent_span_id=root.span_id,
            start_ns=start_ns + 3_000,
            attributes={"gen_ai.usage.input_tokens": 1, "gen_ai.usage.output_tokens": 1},
        ),
        make_span(
            trace_id=trace_id, name="early", parent_span_id=root.span_id,
            start_ns=start_ns - 5_000,  # starts before the root: the trace starts here
        ),
    ]
    return trace_id.hex(), [root, *children]


def test_a_trace_split_across_flushes_is_one_correct_row(store: SpanStore) -> None:
    trace_id, spans = _split_trace(1_700_000_000_000_000_000)
    _, other = genai_trace()
    store.write_traces(traces_request([spans[1], spans[4]]))  # children first
    store.flush()
    store.write_traces(traces_request([spans[0], *other]))  # then the root
    store.flush()
    store.write_traces(traces_request(spans[2:4]))
    store.flush()
    connection = store.connect()
    _assert_matches_oracle(connection)
    row = connection.execute(
        "SELECT name, request_preview, response_preview, span_count, input_tokens, "
        "total_tokens, status, session_id, duration_ms FROM traces WHERE trace_id = ?",
        [trace_id],
    ).fetchone()
    # The root has no input, so the request preview comes from the best span that has one.
    assert row == ("agent", "prompt", "the answer", 5, 8, 12, "ERROR", "s9", 90.006)


def test_a_split_trace_stays_one_correct_row_across_compaction(data_dir: Path) -> None:
    from otel_feedback_collector.storage.moved_files import read_with_retry

    with SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=2) as store:
        trace_id, spans = _split_trace(1_700_000_000_000_000_000)
        for part in ([spans[3]], [spans[0], spans[1]], [spans[2]]):
            store.write_traces(traces_request([*part, *genai_trace()[1]]))
            store.flush()
            store.compact()  # level-0 runs merge into level 1 as they pile up
        store.write_traces(traces_request([spans[4]]))
        store.flush()
        runs = {f["run"] for f in _manifest(data_dir)["datasets"]["trace_summaries"]}
        assert len(runs) > 1  # the trace is still split between runs here
        # The background compactor may swap files away from this snapshot: ask again then.
        read_with_retry(store.connect, _assert_matches_oracle)
        store.compact(full=True)
        summaries = _manifest(data_dir)["datasets"]["trace_summaries"]
        assert len({f["run"] for f in summaries}) == 1
        connection = store.connect()
        _assert_matches_oracle(connection)
        assert connection.execute(
            "SELECT span_count FROM traces WHERE trace_id = ?", [trace_id]
        ).fetchone() == (5,)


def test_spans_resent_in_a_later_flush_count_once(store: SpanStore) -> None:
    trace_id, spans = genai_trace()
    store.write_traces(traces_request(spans))
    store.flush()
    store.write_traces(traces_request(spans[1:]))  # a retried export, another flush
    store.flush()
    connection = store.connect()
    _assert_matches_oracle(connection)
    assert connection.execute(
        "SELECT span_count, input_tokens, output_tokens, total_tokens FROM traces"
    ).fetchone() == (3, 10, 5, 15)


def test_the_view_keeps_its_columns_and_types(store: SpanStore) -> None:
    for _ in range(2):  # two runs: the combining form of the view
        store.write_traces(traces_request(genai_trace()[1]))
        store.flush()
    connection = store.connect()
    oracle = connection.execute(f"DESCRIBE {_ORACLE_SQL}").fetchall()
    assert connection.execute("DESCRIBE traces").fetchall() == oracle
    store.compact(full=True)
    single_run = store.connect()
    assert single_run.execute("DESCRIBE traces").fetchall() == oracle
    _assert_matches_oracle(single_run)


def test_data_written_without_summaries_is_read_and_then_summarized(data_dir: Path) -> None:
    with SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000) as store:
        for _ in range(3):
            store.write_traces(traces_request(genai_trace()[1]))
            store.flush()
        expected = _traces(store.connect())
    # As an older version left it: no summaries in the manifest.
    manifest = _manifest(data_dir)
    manifest["datasets"].pop("trace_summaries")
    (data_dir / "manifest.json").write_text(json.dumps(manifest))
    assert _traces(connect(data_dir)) == expected  # read straight from the spans
    with SpanStore(data_dir, compaction_fan_in=1000) as reopened:
        assert len(_manifest(data_dir)["datasets"]["trace_summaries"]) == 3
        assert _traces(reopened.connect()) == expected


@pytest.mark.parametrize(("budget", "fan_in"), [(1, 16), (64 * 1024, 16), (64 * 1024, 2)])
def test_streaming_merge_keeps_whole_traces_sorted_unique_and_disjoint(
    data_dir: Path, tmp_path: Path, budget: int, fan_in: int
) -> None:
    import pyarrow.parquet as pq

    from otel_feedback_collector.storage.datasets import pending_file
    from otel_feedback_collector.storage.trace_summaries import SummaryCalculator

    big_trace = new_trace_id()
    root = make_span(trace_id=big_trace, name="root")
    with SpanStore(data_dir, compaction_fan_in=1000) as store:
        for flush in range(3):
            # 150 spans of one trace per flush (longer than a read batch), plus small traces
            # and a resent copy of the previous flush's small traces.
            wide = [
                make_span(trace_id=big_trace, parent_span_id=root.span_id, name=f"s{flush}")
                for _ in range(150)
            ]
            small = [span for _ in range(20) for span in genai_trace()[1]]
            store.write_traces(traces_request([root, *wide, *small]))
            if flush:
                store.write_traces(traces_request(previous))
            previous = small
            store.flush()
        expected = store.connect().execute(
            "SELECT trace_id, span_id, name FROM spans ORDER BY ALL"
        ).fetchall()
        inputs = [f["path"] for f in _manifest(data_dir)["datasets"]["spans"]]
    summaries = SummaryCalculator()
    merged, summary = _merge_flushed_files(
        summaries,
        data_dir,
        inputs,
        row_group_bytes=budget,
        file_bytes=budget,  # tiny: many output files
        input_budget_bytes=budget,
        scratch_dir=tmp_path,
        max_fan_in=fan_in,  # 2: the three inputs are merged in two passes
    )
    summaries.close()
    assert not list(tmp_path.glob(".merge-*"))  # intermediate files are removed
    # The outputs wait under their hidden pending names for the swap (swap.py).
    paths = [pending_file(data_dir, f.path) for f in merged]
    rows = duckdb.sql(
        f"SELECT trace_id, span_id, name FROM read_parquet({[str(p) for p in paths]}) "
        "ORDER BY ALL"
    ).fetchall()
    assert rows == expected  # every span once, none lost
    ranges = []
    for path in paths:
        ids = pq.read_table(path, columns=["trace_id"]).column(0).to_pylist()
        assert ids == sorted(ids)
        ranges.append((ids[0], ids[-1]))
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:]))  # disjoint, in order
    assert summary is not None
    counts = dict(
        duckdb.sql(
            f"SELECT trace_id, span_count FROM read_parquet('{pending_file(data_dir, summary.path)}')"
        ).fetchall()
    )
    assert counts[big_trace.hex()] == 451 and len(counts) == 61


def _merge_flushed_files(summaries: Any, data_dir: Path, inputs: list[str], **options: Any) -> tuple[list, Any]:
    """Merge flushed files (one stream each) into level 1 as compaction would (run 899)."""
    import itertools

    from otel_feedback_collector.storage.datasets import data_file_name, merge_span_files

    numbers = itertools.count(900)
    return merge_span_files(
        summaries,
        inputs=[[path] for path in inputs],
        data_dir=data_dir,
        relative_paths=lambda layout: data_file_name(layout, level=1, number=next(numbers)),
        level=1,
        run=899,
        row_group_size=16384,
        **options,
    )


def _manifest(data_dir: Path) -> dict:
    return json.loads((data_dir / "manifest.json").read_text())


def test_partials_of_disjoint_span_sets_merge_into_the_whole_trace_summary(
    store: SpanStore,
) -> None:
    from otel_feedback_collector.storage.trace_summaries import SummaryCalculator

    _, spans = _split_trace(1_700_000_000_000_000_000)
    _, other = genai_trace()
    store.write_traces(traces_request([*spans, *other]))
    store.flush()
    rows = store.connect().sql("SELECT * FROM spans").to_arrow_table()
    calculator = SummaryCalculator()
    try:
        # Halves that cut the split trace, as two chunks of one flush would.
        halves = [rows.slice(0, 4), rows.slice(4)]
        merged = calculator.merge([calculator.summarize_spans(half) for half in halves])
        whole = calculator.summarize_spans(rows)
    finally:
        calculator.close()
    assert merged.sort_by("trace_id").to_pylist() == whole.sort_by("trace_id").to_pylist()


@pytest.mark.parametrize("summary_batch_rows", [1, 7, 1 << 20])
def test_a_merged_runs_summaries_are_those_of_its_spans_however_they_are_batched(
    data_dir: Path, tmp_path: Path, summary_batch_rows: int
) -> None:
    """The merge summarizes its row groups a batch at a time (one summary query per batch):
    every trace gets one partial, equal to the summary of all of its spans at once."""
    import itertools

    import pyarrow as pa
    import pyarrow.parquet as pq

    from otel_feedback_collector.storage.datasets import pending_file
    from otel_feedback_collector.storage.trace_summaries import SummaryCalculator

    start = 1_700_000_000_000_000_000
    clock = itertools.count(start, 1000)  # no two spans start together: no ties for the root
    spread = [(new_trace_id(), make_span(trace_id=new_trace_id(), name="x")) for _ in range(5)]
    with SpanStore(data_dir, compaction_fan_in=1000) as store:
        for flush in range(3):
            spans = []
            for number, (trace_id, _) in enumerate(spread):
                # Traces whose spans arrive over all three flushes; the root in the last one.
                parent = None if flush == 2 else b"\x01" * 8
                spans.append(
                    make_span(
                        trace_id=trace_id, name=f"t{number}-f{flush}", parent_span_id=parent,
                        status_error=(number + flush) % 4 == 0, start_ns=next(clock),
                        attributes={"gen_ai.usage.input_tokens": 10 * flush + number, "session.id": f"s{flush}"},
                    )
                )
            for _ in range(6):
                trace_id, trace_spans = genai_trace(text=f"flush {flush}")
                for span in trace_spans:
                    span.start_time_unix_nano = next(clock)
                    span.end_time_unix_nano = span.start_time_unix_nano + 500
                spans.extend(trace_spans)
            store.write_traces(traces_request(spans))
            store.flush()
        inputs = [f["path"] for f in _manifest(data_dir)["datasets"]["spans"]]
    summaries = SummaryCalculator()
    try:
        merged, summary = _merge_flushed_files(
            summaries,
            data_dir,
            inputs,
            row_group_bytes=1,  # a row group per trace
            file_bytes=1 << 30,
            input_budget_bytes=1,
            scratch_dir=tmp_path,
            summary_batch_rows=summary_batch_rows,
        )
        spans_table = pa.concat_tables(pq.read_table(pending_file(data_dir, f.path)) for f in merged)
        expected = summaries.summarize_spans(spans_table).sort_by("trace_id")
    finally:
        summaries.close()
    assert summary is not None
    written = pq.read_table(pending_file(data_dir, summary.path))
    assert written.column("trace_id").to_pylist() == sorted(written.column("trace_id").to_pylist())
    assert written.num_rows == len(spread) + 18 == summary.rows
    assert written.equals(expected)
