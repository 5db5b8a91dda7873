"""Per trace, what its dollars are computed from: token sums per model and the spans' own costs.

Prices come from a configurable table (pricing.py), so dollars cannot be stored; their inputs
can. Each flush notes, per trace, one entry per (model, has own cost) of its *priced* spans
(those with a model or token counts: an LLM call carries them) with the sums of their input
tokens, output tokens and own cost attributes (``gen_ai.usage.cost``, ``llm.cost.total``) —
the groups the UI's cost query formed over the spans (ui/cost_queries.py), so pricing the
entries gives the same dollars. The trace index keeps them (``cost_inputs``; the entries of a
trace's flushes are concatenated), and a page of traces reads them there instead of the spans'
``attributes`` column, which holds the spans' input and output too: for the newest traces of a
large merged run DuckDB decoded that column over the whole file, ~240 ms at ten million spans.

NULL means not known (a row rebuilt from the Parquet summaries, or written by an older
version): readers then read the spans. An empty list is a trace without priced spans.

A span's own cost is read with DuckDB's JSON functions (``OWN_COST_SQL``, exactly as the cost
query read it), and only for the priced spans whose attributes name a cost attribute at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from otel_feedback_collector.pricing import COST_ATTRIBUTES

logger = logging.getLogger("otel_feedback_collector.storage")

COST_ENTRY = pa.struct(
    [
        pa.field("model", pa.string()),
        pa.field("has_own", pa.bool_()),
        pa.field("input_tokens", pa.float64()),
        pa.field("output_tokens", pa.float64()),
        pa.field("own_cost", pa.float64()),
    ]
)
COST_INPUTS_TYPE = pa.list_(COST_ENTRY)
COST_INPUTS_SQL_TYPE = (
    "STRUCT(model VARCHAR, has_own BOOLEAN, input_tokens DOUBLE, output_tokens DOUBLE, own_cost DOUBLE)[]"
)
# A span's own cost (the first cost attribute that reads as a number), over its ``attributes``.
OWN_COST_SQL = "coalesce(" + ", ".join(
    f"TRY_CAST(json_extract_string(attributes, '$.\"{name}\"') AS DOUBLE)" for name in COST_ATTRIBUTES
) + ")"
# The spans that can cost anything.
PRICED_SPAN_SQL = "(model IS NOT NULL OR input_tokens IS NOT NULL OR output_tokens IS NOT NULL)"

# A text that holds a cost attribute's quoted name (the writer's JSON spells keys out, so only
# such a span can have an own cost; its JSON is parsed, no other's).
_NAMES_A_COST = " OR ".join(f"contains(attributes, '\"{name}\"')" for name in COST_ATTRIBUTES)

# (span attributes, which spans are priced) -> each span's own cost, NULL where none.
OwnCosts = Callable[[pa.ChunkedArray, pa.Array], pa.Array]


def own_costs_reader(connection: duckdb.DuckDBPyConnection) -> OwnCosts:
    """A function giving the own costs (float64, NULL where none) of the priced spans among
    ``attributes``, read by ``OWN_COST_SQL`` on ``connection`` (one thread's private
    connection). DuckDB searches the priced spans' texts for the cost attributes' names
    (~0.25 us per 1.5 KB span; Arrow's ``match_substring`` took 3, a regular expression over
    the character buffer 0.6) and parses only those that name one."""

    def read(attributes: pa.ChunkedArray, priced: pa.Array) -> pa.Array:
        rows = pa.table({"row": pa.array(range(len(priced)), pa.int64()), "priced": priced, "attributes": attributes})
        connection.register("_cost_spans", rows)
        try:
            found = connection.sql(
                f"SELECT row, {OWN_COST_SQL} AS own FROM _cost_spans WHERE priced AND ({_NAMES_A_COST}) ORDER BY row"
            ).to_arrow_table()
        finally:
            connection.unregister("_cost_spans")
        own = pa.nulls(len(priced), pa.float64())
        if not found.num_rows:
            return own
        named = pc.is_in(rows["row"], value_set=found["row"].combine_chunks()).combine_chunks()
        return pc.replace_with_mask(own, named, found["own"].combine_chunks().cast(pa.float64()))

    return read


def trace_cost_inputs(spans: pa.Table, trace_ids: pa.Array | pa.ChunkedArray, own_costs: OwnCosts | None) -> pa.Array:
    """The cost inputs (``COST_INPUTS_TYPE``) of each trace of ``trace_ids`` from ``spans``
    (all of those traces' spans in this table): NULL for every trace when ``own_costs`` is
    None (not known), an empty list for a trace without priced spans."""
    if own_costs is None:
        return pa.nulls(len(trace_ids), COST_INPUTS_TYPE)
    priced = pc.fill_null(
        pc.or_(pc.or_(pc.is_valid(spans["model"]), pc.is_valid(spans["input_tokens"])), pc.is_valid(spans["output_tokens"])),
        False,
    )
    if isinstance(priced, pa.ChunkedArray):
        priced = priced.combine_chunks()
    try:
        own = own_costs(spans["attributes"], priced)
    except duckdb.Error as error:
        # Never a reason to refuse the spans: their traces' costs are then read from them.
        logger.warning("Could not read the own costs of a chunk's spans (%s); their traces' costs are read from the spans.", error)
        return pa.nulls(len(trace_ids), COST_INPUTS_TYPE)
    # (Only the narrow columns are filtered: a filter of the whole table copied the texts.)
    entries = pa.table(
        {
            "trace_id": spans["trace_id"],
            "model": spans["model"],
            "has_own": pc.is_valid(own),
            "input_tokens": spans["input_tokens"].cast(pa.float64()),
            "output_tokens": spans["output_tokens"].cast(pa.float64()),
            "own_cost": own,
        }
    ).filter(priced)
    grouped = entries.group_by(["trace_id", "model", "has_own"], use_threads=False).aggregate(
        [("input_tokens", "sum"), ("output_tokens", "sum"), ("own_cost", "sum")]
    )
    values = pa.StructArray.from_arrays(
        [grouped[name].combine_chunks() for name in ("model", "has_own", "input_tokens_sum", "output_tokens_sum", "own_cost_sum")],
        fields=list(COST_ENTRY),
    )
    ids, lists = lists_per_trace(grouped["trace_id"], pa.ListArray.from_arrays(pa.array(range(len(values) + 1), pa.int32()), values))
    found = lists.take(pc.index_in(trace_ids, value_set=ids))
    return pc.fill_null(found, pa.scalar([], COST_INPUTS_TYPE))


def lists_per_trace(trace_ids: pa.Array | pa.ChunkedArray, lists: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``(ids, combined)``: each distinct trace id once and the concatenation of its rows'
    ``lists`` (NULL if one of them is NULL: not known)."""
    order = pc.sort_indices(trace_ids)
    ids = pc.take(trace_ids, order)
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    lists = pc.take(lists, order)
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    if not len(ids):
        return ids, pa.array([], COST_INPUTS_TYPE)
    runs = pc.run_end_encode(ids)
    ends = pc.subtract(runs.run_ends.cast(pa.int64()), 1)
    lengths = pc.cumulative_sum(pc.fill_null(pc.list_value_length(lists), 0).cast(pa.int64()))
    nulls = pc.cumulative_sum(pc.is_null(lists).cast(pa.int64()))
    offsets = pa.concat_arrays([pa.array([0], pa.int64()), pc.take(lengths, ends)])
    nulls_at_ends = pa.concat_arrays([pa.array([0], pa.int64()), pc.take(nulls, ends)])
    unknown = pc.greater(pc.subtract(nulls_at_ends[1:], nulls_at_ends[:-1]), 0)
    combined = pa.ListArray.from_arrays(offsets.cast(pa.int32()), pc.list_flatten(lists), mask=unknown)
    return runs.values, combined.cast(lists.type)


__all__ = [
    "COST_ENTRY",
    "COST_INPUTS_SQL_TYPE",
    "COST_INPUTS_TYPE",
    "OWN_COST_SQL",
    "PRICED_SPAN_SQL",
    "OwnCosts",
    "lists_per_trace",
    "own_costs_reader",
    "trace_cost_inputs",
]
