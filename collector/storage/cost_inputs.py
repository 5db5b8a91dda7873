"""Per trace, what its dollars are computed from: token sums per model and the spans' own costs.

Prices come from a configurable table (pricing.py), so dollars cannot be stored; their inputs
can. Each flush notes, per trace, one entry per (model, has own cost) of its *priced* spans
(those with a model or token counts: an LLM call carries them) with the sums of their input
tokens, output tokens and own cost attributes (``gen_ai.usage.cost``, ``llm.cost.total``) —
the groups the UI's cost query formed over the spans (ui/cost_queries.py), so pricing the
entries gives the same dollars. The trace index keeps them (``cost_inputs``; a flush that
adds to a stored trace sums its entries into the stored ones per group), and a page of traces
reads them there instead of the spans' ``attributes`` column, which holds the spans' input and
output too: for the newest traces of a large merged run DuckDB decoded that column over the
whole file, ~240 ms at ten million spans.

NULL means not known (a row rebuilt from the Parquet summaries, or written by an older
version): readers then read the spans. An empty list is a trace without priced spans.

A span's own cost is read with DuckDB's JSON functions (``OWN_COST_SQL``, exactly as the cost
query read it), and only for the priced spans whose attributes name a cost attribute at all.
"""

from __future__ import annotations

import bisect
import logging
import re
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

# A cost attribute's quoted name, as the writer's JSON spells keys out: only a text holding
# one can hold an own cost.
_COST_NAME = re.compile(b"|".join(b'"' + re.escape(name.encode()) + b'"' for name in COST_ATTRIBUTES))
_SUMS = ("input_tokens", "output_tokens", "own_cost")

# Attributes texts -> their own costs (float64, NULL where none).
OwnCosts = Callable[[pa.Array], pa.Array]


def own_costs_reader(connection: duckdb.DuckDBPyConnection) -> OwnCosts:
    """A function from ``attributes`` texts to their own costs (float64, NULL where none),
    read by ``OWN_COST_SQL`` on ``connection`` (one thread's private connection)."""

    def read(attributes: pa.Array) -> pa.Array:
        rows = pa.table({"row": pa.array(range(len(attributes)), pa.int64()), "attributes": attributes})
        connection.register("_cost_attributes", rows)
        try:
            found = connection.sql(f"SELECT {OWN_COST_SQL} FROM _cost_attributes ORDER BY row").to_arrow_table()
        finally:
            connection.unregister("_cost_attributes")
        return found.column(0).combine_chunks().cast(pa.float64())

    return read


def trace_cost_inputs(spans: pa.Table, trace_ids: pa.Array | pa.ChunkedArray, own_costs: OwnCosts | None) -> pa.Array:
    """:func:`noted_cost_inputs`, or NULL for every trace when noting them fails: the inputs
    only spare a page reading the spans, so no value in a span may fail the flush that
    stores it (a failing flush is retried, and the writes behind it are refused in the end).
    Running out of memory is the machine's fault, not the spans': the flush fails and is
    retried."""
    try:
        return noted_cost_inputs(spans, trace_ids, own_costs)
    except MemoryError:
        raise
    except Exception as error:  # noqa: BLE001 - an optimisation never refuses spans
        logger.warning(
            "Could not note the cost inputs of a chunk's traces (%s: %s); their costs are read from the spans.",
            type(error).__name__, error,
        )
        return pa.nulls(len(trace_ids), COST_INPUTS_TYPE)


def noted_cost_inputs(spans: pa.Table, trace_ids: pa.Array | pa.ChunkedArray, own_costs: OwnCosts | None) -> pa.Array:
    """The cost inputs (``COST_INPUTS_TYPE``) of each trace of ``trace_ids`` (distinct) from
    ``spans`` (all of those traces' spans in this table): NULL for every trace when
    ``own_costs`` is None (not known), an empty list for a trace without priced spans.

    A flush chunk holds a few thousand spans, so the fixed cost of each step counts as much as
    its cost per row: DuckDB is asked only when a text names a cost attribute (a query cost
    ~2 ms, ~1 us per span of a chunk), and the entries take two Arrow aggregations."""
    if own_costs is None:
        return pa.nulls(len(trace_ids), COST_INPUTS_TYPE)
    priced = pc.or_(pc.or_(pc.is_valid(spans["model"]), pc.is_valid(spans["input_tokens"])), pc.is_valid(spans["output_tokens"]))
    if isinstance(priced, pa.ChunkedArray):
        priced = priced.combine_chunks()
    own = pa.nulls(spans.num_rows, pa.float64())
    candidates = naming_a_cost(spans["attributes"], priced)
    if pc.any(candidates).as_py():
        try:
            found = own_costs(spans["attributes"].filter(candidates).combine_chunks())
        except duckdb.Error as error:
            # Never a reason to refuse the spans: their traces' costs are then read from them.
            logger.warning("Could not read the own costs of a chunk's spans (%s); their traces' costs are read from the spans.", error)
            return pa.nulls(len(trace_ids), COST_INPUTS_TYPE)
        own = pc.replace_with_mask(own, candidates, found)
    # (Only the narrow columns are filtered: a filter of the whole table copied the texts.)
    entries = pa.table(
        {
            "trace_id": spans["trace_id"],
            "model": spans["model"],
            "has_own": pc.is_valid(own),
            # (Rounded, as DuckDB's ``::DOUBLE`` rounds: a count past 2^53 is no error.)
            "input_tokens": pc.cast(spans["input_tokens"], pa.float64(), safe=False),
            "output_tokens": pc.cast(spans["output_tokens"], pa.float64(), safe=False),
            "own_cost": own,
        }
    ).filter(priced)
    groups = entries.group_by(["trace_id", "model", "has_own"], use_threads=False).aggregate(
        [(name, "sum") for name in _SUMS]
    )
    per_trace = groups.group_by("trace_id", use_threads=False).aggregate(
        [(name, "list") for name in ("model", "has_own", *(f"{name}_sum" for name in _SUMS))]
    )
    # Each list column has the same offsets (one entry per group, in the same order).
    first = per_trace["model_list"].combine_chunks()
    values = pa.StructArray.from_arrays(
        [pc.list_flatten(per_trace[f"{name}_list"].combine_chunks()) for name in ("model", "has_own", *(f"{n}_sum" for n in _SUMS))],
        fields=list(COST_ENTRY),
    )
    offsets = pa.concat_arrays([pa.array([0], pa.int64()), pc.cumulative_sum(pc.list_value_length(first).cast(pa.int64()))])
    lists = pa.ListArray.from_arrays(offsets.cast(pa.int32()), values)
    found = lists.take(pc.index_in(trace_ids, value_set=per_trace["trace_id"]))
    return pc.fill_null(found, pa.scalar([], COST_INPUTS_TYPE))


def naming_a_cost(attributes: pa.ChunkedArray, among: pa.Array) -> pa.Array:
    """Per ``attributes`` text, whether it holds a cost attribute's quoted name; only the rows
    ``among`` marks are searched (the others are False). A regular expression searches each
    such row's bytes in its chunk's character buffer (~0.3 us per span of a GenAI trace, whose
    LLM spans are a third; Arrow's ``match_substring`` over every span took 3, DuckDB's
    ``contains`` ~1 with its query's fixed cost)."""
    flags: list[pa.Array] = []
    start = 0
    for chunk in attributes.chunks:
        rows = pc.indices_nonzero(among.slice(start, len(chunk))).to_pylist()
        start += len(chunk)
        named = [False] * len(chunk)
        if rows:
            if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):  # e.g. a string view
                chunk = chunk.cast(pa.large_string())
            validity, offsets_buffer, data = chunk.buffers()
            if data is not None:
                # The chunk's rows' byte ranges (a slice's buffer holds other rows too).
                width = pa.int64() if pa.types.is_large_string(chunk.type) else pa.int32()
                offsets = pa.Array.from_buffers(width, len(chunk) + 1, [None, offsets_buffer], offset=chunk.offset).to_pylist()
                text, search = memoryview(data), _COST_NAME.search
                for row in rows:
                    named[row] = search(text, offsets[row], offsets[row + 1]) is not None
        flags.append(pc.and_(pa.array(named, pa.bool_()), pc.is_valid(chunk)))
    return pa.concat_arrays(flags) if flags else pa.array([], pa.bool_())


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
    "naming_a_cost",
    "own_costs_reader",
    "trace_cost_inputs",
]
