"""Partial trace summaries of span rows in memory, computed with Arrow compute (no SQL).

The writer summarises every chunk it flushes, and compaction every row group it merges.
Through DuckDB (``spans_to_summaries_sql`` over a registered Arrow table) that cost ~7 us of
CPU per span: planning the query each time and copying the string columns into DuckDB's
vectors. Here one stable sort of the narrow columns by (trace id, span sort key) and one ordered
hash aggregation give the same rows for ~1.5 us; string columns are only gathered per trace.

The root columns are the first non-NULL value in sort-key order: what ``arg_min(value,
span_key)`` picks (DuckDB skips NULL values; of equal keys it keeps the earlier row, and so does
the stable sort). The same pass notes, per trace, its latest span start and its earliest root
span (for the trace index: live_reads.py).

``spans_to_summaries_sql`` stays the reference: for rows this module does not take (a NULL
start time, a span id that does not end in hex, token counts whose sum could pass the int64
maximum) :func:`summarize` returns no partials and the caller runs the SQL, which clamps the
sums or fails on the record as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from otel_feedback_collector.storage.cost_inputs import COST_INPUTS_TYPE, OwnCosts, trace_cost_inputs

# The span sort key (trace_summaries.py: bit 62 = has a parent, then the start time clamped
# to 62 bits).
_PARENT_FLAG = 1 << 62
_START_LIMIT = (1 << 62) - 1
_INT64_MAX = (1 << 63) - 1
_TOKEN_COLUMNS = ("input_tokens", "output_tokens", "total_tokens")
# (summary column, span column): the root candidate's values a partial keeps (with the sort key
# of the span each came from; trace_summaries.py).
ROOT_COLUMNS = (
    ("name", "name"),
    ("request_preview", "input_preview"),
    ("response_preview", "output_preview"),
    ("experiment", "experiment"),
    ("service_name", "service_name"),
)
# A span id's bit is its last two characters read as hex (DuckDB: ``'0x' || right(id, 2)``),
# masked to 7 bits; a one-character id reads as one digit.
_HEX = "0123456789abcdef"
_HEX_TEXTS = pa.array([a + b for a in _HEX for b in _HEX] + list(_HEX))
_HEX_VALUES = pa.array([*range(256), *range(16)], pa.int64())
# Bit ``b`` of a 64-bit set as a BIGINT (bit 63 is the sign bit), for b in 0..127 (low, high).
_BIT_VALUES = pa.array([(1 << b) if b < 63 else -(1 << 63) for b in range(64)] * 2, pa.int64())
ROOT_NOTE_SCHEMA = pa.schema(
    [
        pa.field("trace_id", pa.string()),
        pa.field("last_start", pa.int64()),
        pa.field("root_start", pa.int64()),
        pa.field("root_request", pa.string()),
        pa.field("root_response", pa.string()),
        # What its dollars are computed from (cost_inputs.py); NULL: not known.
        pa.field("cost_inputs", COST_INPUTS_TYPE),
    ]
)


@dataclass(frozen=True)
class ChunkSummary:
    """A span table's summaries: ``partials`` in ``TRACE_SUMMARY_SCHEMA`` order of columns
    (None when only the SQL can compute them), and with ``roots`` asked for, one
    ``ROOT_NOTE_SCHEMA`` row per trace (its latest start; its earliest root span's start,
    input and output, NULL without a root)."""

    partials: pa.Table | None
    roots: pa.Table | None


def summarize(spans: pa.Table, *, roots: bool = False, own_costs: OwnCosts | None = None) -> ChunkSummary:
    """Summaries of ``spans`` (span rows holding no span twice, at least one row).
    ``own_costs`` reads the spans' own cost attributes for the root notes' cost inputs
    (cost_inputs.py); without it they are not known (NULL)."""
    start = spans["start_time_unix_nano"]
    has_parent = pc.is_valid(spans["parent_span_id"])
    # (A NULL start gives a NULL key, sorted last: never a root with a start.)
    key = pc.add(
        pc.if_else(has_parent, _PARENT_FLAG, 0),
        pc.min_element_wise(pc.max_element_wise(start, 0, skip_nulls=False), _START_LIMIT, skip_nulls=False),
    )
    row = pa.array(range(spans.num_rows), pa.int64())
    bits = _span_bits(spans["span_id"])
    # A span without a key is left out of the root choice by the SQL: not worth a path here.
    exact = bits is not None and not start.null_count and _sums_fit(spans)
    columns = {
        "trace_id": spans["trace_id"],
        "key": key,
        "row": row,
        "start": start,
        "end": spans["end_time_unix_nano"],
        "start_time": spans["start_time"],
        "end_time": spans["end_time"],
        "has_error": pc.equal(spans["status_code"], "ERROR"),
        "has_ok": pc.equal(spans["status_code"], "OK"),
        **{name: spans[name] for name in (*_TOKEN_COLUMNS, "session_id", "user_id")},
        "bit": bits if bits is not None else pa.nulls(spans.num_rows, pa.int64()),
    }
    for _, span_column in ROOT_COLUMNS:
        # The row of each value, so the first non-NULL one in key order is found on integers
        # and only the chosen values are gathered.
        columns[f"{span_column}_row"] = pc.if_else(pc.is_valid(spans[span_column]), row, None)
    narrow = pa.table(columns)
    narrow = narrow.take(pc.sort_indices(narrow, sort_keys=[("trace_id", "ascending"), ("key", "ascending")]))
    grouped = narrow.group_by("trace_id", use_threads=False).aggregate(
        [
            ("row", "first"),
            ("start", "min"),
            ("start", "max"),
            ("end", "max"),
            ("start_time", "min"),
            ("end_time", "max"),
            ([], "count_all"),
            *((name, "sum") for name in _TOKEN_COLUMNS),
            ("has_error", "any"),
            ("has_ok", "any"),
            ("session_id", "max"),
            ("user_id", "max"),
            *((f"{span_column}_row", "first") for _, span_column in ROOT_COLUMNS),
        ]
    )
    partials = _partials(spans, narrow, grouped, key) if exact else None
    notes = _root_notes(spans, grouped, has_parent, own_costs) if roots else None
    return ChunkSummary(partials, notes)


def _partials(spans: pa.Table, narrow: pa.Table, grouped: pa.Table, key: pa.ChunkedArray) -> pa.Table:
    """The partial summaries."""
    bit_sets = _bit_sets(narrow["trace_id"], narrow["bit"])
    # (Acero does not keep groups in first-seen order: the sets are matched by trace id.)
    bit_sets = bit_sets.take(pc.index_in(grouped["trace_id"], value_set=bit_sets["trace_id"]))
    columns: dict[str, pa.Array | pa.ChunkedArray] = {"trace_id": grouped["trace_id"]}
    for column, span_column in ROOT_COLUMNS:
        rows = grouped[f"{span_column}_row_first"]
        columns[column] = spans[span_column].take(rows)
        columns[f"{column}_key"] = key.take(rows)
    for prefix in ("step", "any"):
        columns[f"{prefix}_start_time_unix_nano"] = grouped["start_min"]
        columns[f"{prefix}_end_time_unix_nano"] = grouped["end_max"]
    columns["start_time"] = grouped["start_time_min"]
    columns["end_time"] = grouped["end_time_max"]
    columns["span_count"] = grouped["count_all"]
    for name in _TOKEN_COLUMNS:
        columns[name] = grouped[f"{name}_sum"]
    for name in ("has_error", "has_ok"):
        columns[name] = grouped[f"{name}_any"]
    for name in ("session_id", "user_id"):
        columns[name] = grouped[f"{name}_max"]
    columns["span_bits_low"] = bit_sets["low_sum"]
    columns["span_bits_high"] = bit_sets["high_sum"]
    return pa.table(columns)


def _sums_fit(spans: pa.Table) -> bool:
    """Whether no trace's token sum can pass the int64 maximum (the SQL clamps it there)."""
    bound = _INT64_MAX // spans.num_rows
    for name in _TOKEN_COLUMNS:
        found = pc.min_max(spans[name]).as_py()
        if found["min"] is not None and (found["min"] < 0 or found["max"] > bound):
            return False
    return True


def _span_bits(span_ids: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """Each span id's bit (0-127), or None when one does not end in hex."""
    last = pc.utf8_lower(pc.utf8_slice_codeunits(span_ids, -2))
    found = pc.index_in(last, value_set=_HEX_TEXTS)
    if found.null_count:
        return None
    return pc.bit_wise_and(pc.take(_HEX_VALUES, found), 127)


def _bit_sets(trace_ids: pa.ChunkedArray, bits: pa.ChunkedArray) -> pa.Table:
    """Per trace, the sets of its span bits 0-63 (``low_sum``) and 64-127 (``high_sum``) as
    BIGINTs: the sum of the distinct bits' values, which is their OR (no two equal, so no
    carry; bit 63 is the sign, and no partial sum leaves the int64 range)."""
    pairs = pa.table({"trace_id": trace_ids, "bit": bits}).group_by(["trace_id", "bit"], use_threads=False).aggregate([])
    value = _BIT_VALUES.take(pairs["bit"])
    is_low = pc.less(pairs["bit"], 64)
    return pa.table(
        {
            "trace_id": pairs["trace_id"],
            "low": pc.if_else(is_low, value, 0),
            "high": pc.if_else(is_low, 0, value),
        }
    ).group_by("trace_id", use_threads=False).aggregate([("low", "sum"), ("high", "sum")])


def _root_notes(
    spans: pa.Table, grouped: pa.Table, has_parent: pa.ChunkedArray, own_costs: OwnCosts | None
) -> pa.Table:
    """Per trace its latest start, its earliest root (the first row in key order, if it
    has no parent) and its cost inputs."""
    first = grouped["row_first"]
    is_root = pc.invert(has_parent.take(first))
    return pa.table(
        {
            "trace_id": grouped["trace_id"],
            "last_start": grouped["start_max"],
            "root_start": pc.if_else(is_root, spans["start_time_unix_nano"].take(first), None),
            "root_request": pc.if_else(is_root, spans["input"].take(first), pa.scalar(None, pa.string())),
            "root_response": pc.if_else(is_root, spans["output"].take(first), pa.scalar(None, pa.string())),
            "cost_inputs": trace_cost_inputs(spans, grouped["trace_id"], own_costs),
        },
        schema=ROOT_NOTE_SCHEMA,
    )


__all__ = ["ROOT_COLUMNS", "ROOT_NOTE_SCHEMA", "ChunkSummary", "summarize"]
