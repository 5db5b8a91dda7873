"""The writer's Arrow summaries (arrow_summaries.py) give exactly what the SQL gives: the same
partial per trace, and root notes as the trace index had them noted before (per trace its
latest start and its earliest root span)."""

from __future__ import annotations

import random

import duckdb
import pyarrow as pa
import pytest

from otel_feedback_collector.storage.arrow_summaries import ROOT_NOTE_SCHEMA, summarize
from otel_feedback_collector.storage.trace_summaries import (
    TRACE_SUMMARY_SCHEMA,
    SummaryCalculator,
    spans_to_summaries_sql,
)
from random_spans import random_spans

_INT64_MAX = 2**63 - 1

# What the index noted per trace before (live_reads.py ``_note_roots`` and the choice in
# ``add_sql``): the latest start of any span, and the root (no parent) starting first.
_ROOTS_ORACLE = """
SELECT trace_id, max(start_time_unix_nano) AS last_start,
    min(start_time_unix_nano) FILTER (WHERE parent_span_id IS NULL) AS root_start,
    arg_min_null(input, start_time_unix_nano) FILTER (WHERE parent_span_id IS NULL) AS root_request,
    arg_min_null(output, start_time_unix_nano) FILTER (WHERE parent_span_id IS NULL) AS root_response
FROM spans GROUP BY trace_id ORDER BY trace_id
"""


def _sql_partials(spans: pa.Table) -> pa.Table:
    connection = duckdb.connect(config={"threads": 1})
    try:
        connection.register("spans", spans)
        result = connection.sql(spans_to_summaries_sql("spans")).to_arrow_table()
    finally:
        connection.close()
    return result.select(TRACE_SUMMARY_SCHEMA.names).cast(TRACE_SUMMARY_SCHEMA).sort_by("trace_id")


@pytest.mark.parametrize("seed", range(12))
def test_the_partials_are_those_of_the_sql(seed: int) -> None:
    rng = random.Random(seed)
    rows = rng.choice([1, 3, 40, 700, 5000])
    spans = random_spans(rng, rows, max(1, rows // rng.choice([1, 3, 30])))
    found = summarize(spans)
    assert found.partials is not None
    arrow = found.partials.select(TRACE_SUMMARY_SCHEMA.names).cast(TRACE_SUMMARY_SCHEMA).sort_by("trace_id")
    assert arrow.to_pylist() == _sql_partials(spans).to_pylist()
    assert SummaryCalculator().summarize_spans(spans).sort_by("trace_id").equals(arrow)


@pytest.mark.parametrize("seed", range(6))
def test_the_root_notes_are_the_earliest_root_and_the_latest_start(seed: int) -> None:
    rng = random.Random(100 + seed)
    spans = random_spans(rng, 2000, 300)
    # Of roots starting at the same time either may be noted (as before): keep starts unique.
    starts = rng.sample(range(10**12), spans.num_rows)
    spans = spans.set_column(
        spans.schema.get_field_index("start_time_unix_nano"), "start_time_unix_nano", pa.array(starts, pa.int64())
    )
    roots = summarize(spans, roots=True).roots
    assert roots is not None and roots.schema == ROOT_NOTE_SCHEMA
    connection = duckdb.connect()
    connection.register("spans", spans)
    expected = connection.execute(_ROOTS_ORACLE).fetchall()
    noted = roots.drop_columns(["cost_inputs"]).sort_by("trace_id")  # cost inputs: test_cost_inputs.py
    assert [tuple(row.values()) for row in noted.to_pylist()] == expected
    assert any(row[2] is None for row in expected) and any(row[2] is not None for row in expected)


def test_span_ids_that_do_not_end_in_hex_go_to_the_sql() -> None:
    spans = random_spans(random.Random(7), 20, 5)
    ids = spans["span_id"].to_pylist()
    ids[3] = "span-zz"
    spans = spans.set_column(spans.schema.get_field_index("span_id"), "span_id", pa.array(ids))
    assert summarize(spans).partials is None
    with pytest.raises(duckdb.ConversionException):  # the SQL fails on it, as before
        SummaryCalculator().summarize_spans(spans)


def test_token_sums_past_the_int64_maximum_are_clamped_by_the_sql() -> None:
    spans = random_spans(random.Random(8), 30, 1)
    huge = pa.array([_INT64_MAX // 2] * spans.num_rows, pa.int64())
    spans = spans.set_column(spans.schema.get_field_index("input_tokens"), "input_tokens", huge)
    assert summarize(spans).partials is None
    summary = SummaryCalculator().summarize_spans(spans)
    assert summary["input_tokens"].to_pylist() == [_INT64_MAX]
    assert summary.equals(_sql_partials(spans))


def test_null_start_times_go_to_the_sql() -> None:
    spans = random_spans(random.Random(9), 50, 4)
    starts = spans["start_time_unix_nano"].to_pylist()
    starts[0] = None
    spans = spans.set_column(
        spans.schema.get_field_index("start_time_unix_nano"), "start_time_unix_nano", pa.array(starts, pa.int64())
    )
    assert summarize(spans).partials is None
    assert SummaryCalculator().summarize_spans(spans).sort_by("trace_id").equals(_sql_partials(spans))
