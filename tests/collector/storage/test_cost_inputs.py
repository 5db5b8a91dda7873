"""A flush's cost inputs per trace (cost_inputs.py) are the groups the cost query forms over the
spans: per (model, has own cost) the sums of input tokens, output tokens and own costs, of the
priced spans only; concatenated over a trace's notes, and not known when one note is not."""

from __future__ import annotations

import random

import duckdb
import pyarrow as pa
import pytest

from otel_feedback_collector.storage.arrow_summaries import summarize
from otel_feedback_collector.storage.cost_inputs import (
    COST_INPUTS_TYPE,
    OWN_COST_SQL,
    PRICED_SPAN_SQL,
    lists_per_trace,
    naming_a_cost,
)
from otel_feedback_collector.storage.trace_summaries import SummaryCalculator
from random_spans import random_spans

# What ui/cost_queries.py grouped over the spans before (and still does for unknown traces).
_GROUPS_ORACLE = f"""
SELECT trace_id, model, own IS NOT NULL AS has_own,
       sum(input_tokens)::DOUBLE, sum(output_tokens)::DOUBLE, sum(own)
FROM (SELECT trace_id, model, input_tokens, output_tokens, {OWN_COST_SQL} AS own FROM spans WHERE {PRICED_SPAN_SQL})
GROUP BY ALL
"""


def _groups(rows: list[tuple[object, ...]]) -> dict[tuple[object, ...], tuple[object, ...]]:
    """{(trace, model, has own): (input, output, own)} with the own sums rounded (their order of
    addition differs)."""
    return {
        (trace_id, model, has_own): (inputs, outputs, None if own is None else round(own, 9))
        for trace_id, model, has_own, inputs, outputs, own in rows
    }


def _notes(spans: pa.Table) -> pa.Table:
    """The root notes of ``spans`` as the writer computes them (own costs read by DuckDB)."""
    calculator = SummaryCalculator()
    try:
        _, roots = calculator.summarize_with_roots(spans)
    finally:
        calculator.close()
    assert roots is not None
    return roots


@pytest.mark.parametrize("seed", range(8))
def test_the_notes_hold_the_cost_querys_groups(seed: int) -> None:
    rng = random.Random(300 + seed)
    rows = rng.choice([1, 40, 700, 3000])
    spans = random_spans(rng, rows, max(1, rows // rng.choice([1, 3, 30])))
    roots = _notes(spans)
    noted = [
        (row["trace_id"], entry["model"], entry["has_own"], entry["input_tokens"], entry["output_tokens"], entry["own_cost"])
        for row in roots.to_pylist()
        for entry in row["cost_inputs"]
    ]
    connection = duckdb.connect()
    connection.register("spans", spans)
    expected = connection.execute(_GROUPS_ORACLE).fetchall()
    assert len(noted) == len(expected)
    assert _groups(noted) == _groups(expected)
    # Every trace is known; one without priced spans has no entries.
    priced = {row[0] for row in expected}
    assert all(
        row["cost_inputs"] is not None and bool(row["cost_inputs"]) == (row["trace_id"] in priced)
        for row in roots.to_pylist()
    )


def test_an_own_cost_is_read_as_the_cost_query_reads_it() -> None:
    """Each spelling of an own cost attribute, alone in its trace, as DuckDB's JSON reads it."""
    attributes = [
        '{"gen_ai.usage.cost": 0.25}',
        '{"llm.cost.total": "0.5"}',
        '{"gen_ai.usage.cost": "n/a", "llm.cost.total": 0.125}',
        '{"gen_ai.usage.cost": -1.5}',
        '{"gen_ai.usage.cost": true}',
        '{"input.value": "\\"gen_ai.usage.cost\\": 3"}',
        None,
    ]
    spans = random_spans(random.Random(5), len(attributes), len(attributes))
    spans = spans.set_column(spans.schema.get_field_index("trace_id"), "trace_id",
                             pa.array([f"{index:032x}" for index in range(len(attributes))]))
    spans = spans.set_column(spans.schema.get_field_index("attributes"), "attributes", pa.array(attributes))
    spans = spans.set_column(spans.schema.get_field_index("model"), "model", pa.array(["m"] * len(attributes)))
    roots = _notes(spans)
    own = {row["trace_id"]: [entry["own_cost"] for entry in row["cost_inputs"]] for row in roots.to_pylist()}
    assert [own[f"{index:032x}"] for index in range(len(attributes))] == [
        [0.25], [0.5], [0.125], [-1.5], [None], [None], [None]
    ]


def test_without_a_reader_of_own_costs_they_are_not_known() -> None:
    spans = random_spans(random.Random(11), 50, 7)
    roots = summarize(spans, roots=True).roots
    assert roots is not None and roots["cost_inputs"].null_count == roots.num_rows


def _entries(*models: str) -> list[dict[str, object]]:
    return [{"model": m, "has_own": False, "input_tokens": 1.0, "output_tokens": None, "own_cost": None} for m in models]


def test_lists_per_trace_concatenate_and_an_unknown_note_makes_the_trace_unknown() -> None:
    ids = pa.array(["b", "a", "b", "c", "a", "c"])
    lists = pa.array([_entries("x"), _entries("y"), [], None, _entries("z", "w"), _entries("v")], COST_INPUTS_TYPE)
    found_ids, combined = lists_per_trace(ids, lists)
    by_id = dict(zip(found_ids.to_pylist(), combined.to_pylist()))
    assert by_id == {"a": _entries("y", "z", "w"), "b": _entries("x"), "c": None}
    assert combined.type == COST_INPUTS_TYPE
    empty_ids, empty = lists_per_trace(pa.array([], pa.string()), pa.array([], COST_INPUTS_TYPE))
    assert len(empty_ids) == 0 and len(empty) == 0


def test_a_trace_whose_spans_all_lack_prices_has_an_empty_list() -> None:
    spans = random_spans(random.Random(12), 20, 1)
    for name in ("model", "input_tokens", "output_tokens"):
        spans = spans.set_column(spans.schema.get_field_index(name), name, pa.nulls(spans.num_rows, spans.schema.field(name).type))
    roots = _notes(spans)
    # Known, and priced at nothing: the trace has no cost (not "not known").
    assert roots["cost_inputs"].to_pylist() == [[]]


def test_own_costs_are_found_in_every_chunk_of_a_sliced_table() -> None:
    """A chunk that is a slice shares its buffers with the rows around it: each span's own cost
    is its own."""
    texts = ['{"a": 1}', None, '{"gen_ai.usage.cost": 1}', "", '{"x": "llm.cost.total"}', '{"llm.cost.total": 2}'] * 3
    expected = [[None], [None], [1.0], [None], [None], [2.0]] * 3
    spans = random_spans(random.Random(14), len(texts), len(texts))
    columns = {
        "trace_id": pa.array([f"{index:032x}" for index in range(len(texts))]),
        "attributes": pa.array(texts),
        "model": pa.array(["m"] * len(texts)),
    }
    for name, values in columns.items():
        spans = spans.set_column(spans.schema.get_field_index(name), name, values)
    for cut in (0, 2, 7, len(texts) - 1):
        sliced = pa.concat_tables([spans.slice(0, cut), spans.slice(cut)])
        notes = _notes(sliced).sort_by("trace_id").to_pylist()
        assert [[entry["own_cost"] for entry in row["cost_inputs"]] for row in notes] == expected


@pytest.mark.parametrize(
    "failure",
    [duckdb.InvalidInputException("malformed JSON"), ValueError("any other failure"), pa.ArrowInvalid("bad cast")],
)
def test_own_costs_that_cannot_be_read_leave_the_chunks_traces_unknown(failure: Exception) -> None:
    """A failing read never refuses the spans (whatever fails: a flush that fails is retried
    for ever): their traces' costs are read from the spans."""
    spans = random_spans(random.Random(13), 200, 20)  # (some name a cost attribute)

    def failing(attributes: pa.Array) -> pa.Array:
        raise failure

    roots = summarize(spans, roots=True, own_costs=failing).roots
    assert roots is not None and roots["cost_inputs"].null_count == roots.num_rows


def test_running_out_of_memory_noting_costs_fails_the_flush_to_be_retried() -> None:
    spans = random_spans(random.Random(13), 200, 20)

    def failing(attributes: pa.Array) -> pa.Array:
        raise MemoryError

    with pytest.raises(MemoryError):
        summarize(spans, roots=True, own_costs=failing)


def test_the_texts_naming_a_cost_are_found_in_any_string_layout() -> None:
    texts = ['{"a": 1}', None, '{"gen_ai.usage.cost": 1}', "", '{"x": "llm.cost.total"}', '{"llm.cost.total": 2}']
    expected = [False, False, True, False, True, True]  # (a quoted name as a value counts too: then parsed)
    whole = pa.array(texts)
    for chunked, first in (
        (pa.chunked_array([whole.slice(0, 3), whole.slice(3)]), 0),  # a slice's buffer holds the other rows too
        (pa.chunked_array([whole.slice(3)]), 3),
        (pa.chunked_array([whole.cast(pa.large_string())]), 0),
        (pa.chunked_array([whole.cast(pa.string_view())]), 0),
    ):
        every = pa.array([True] * len(chunked))
        assert naming_a_cost(chunked, every).to_pylist() == expected[first:]
        assert naming_a_cost(chunked, pa.array([row % 2 == 0 for row in range(len(chunked))])).to_pylist() == [
            found and row % 2 == 0 for row, found in enumerate(expected[first:])
        ]


def test_token_counts_past_two_to_the_53_are_rounded_as_the_sql_rounds_them() -> None:
    spans = random_spans(random.Random(15), 40, 1)
    huge = pa.array([2**63 - 1, 2**53 + 1] * 20, pa.int64())
    for name in ("input_tokens", "output_tokens"):
        spans = spans.set_column(spans.schema.get_field_index(name), name, huge)
    spans = spans.set_column(spans.schema.get_field_index("attributes"), "attributes", pa.nulls(40, pa.string()))
    connection = duckdb.connect()
    connection.register("spans", spans)
    assert _groups([(row["trace_id"], e["model"], e["has_own"], e["input_tokens"], e["output_tokens"], e["own_cost"])
                    for row in _notes(spans).to_pylist() for e in row["cost_inputs"]]) == _groups(
        connection.execute(_GROUPS_ORACLE).fetchall()
    )
