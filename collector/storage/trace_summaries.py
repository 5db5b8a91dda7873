"""Per-trace summaries: what the ``traces`` view reads instead of aggregating every span.

A flush (and a compaction) writes, next to its span files, a ``trace_summaries`` file with one
*partial* summary per trace it holds: counts, token sums, first start, last end, error flags and
the root candidate's name and previews. A trace whose spans arrived in several flushes has one
partial per run; the view combines them with aggregates that give exactly what aggregating the
spans would give:

* sums and counts add up, min/max stay min/max, "any span errored" is ``bool_or``;
* the root's columns: each partial keeps, per column, the value of its best span (the one
  without a parent, else the earliest; ``arg_min`` skips NULL values) *and that span's sort
  key*, so the combination picks the same span as an aggregate over all spans would.

Sums over-count only if one span is in two partials (a resent export that landed in two
flushes). Each partial carries a 128-bit set of its spans' id bits (two ``BIGINT`` masks, bit
= the span id's last 7 bits; bit 63 is the sign bit); when the partials of a trace have
overlapping bits, a repeated span is *possible* and the view recomputes that trace from its
de-duplicated spans instead.
Disjoint bits prove no span repeats, so the fast path is exact.

Assessments arrive as OTLP log records, never as spans, so every span is a step of its trace.
The ``step_*`` and ``any_*`` time columns are therefore equal; both stay so summary files
already on disk keep reading the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from otel_feedback_collector.storage.arrow_summaries import ROOT_COLUMNS as _ROOT_COLUMNS
from otel_feedback_collector.storage.arrow_summaries import ROOT_NOTE_SCHEMA
from otel_feedback_collector.storage.arrow_summaries import summarize as summarize_in_arrow
from otel_feedback_collector.storage.cost_inputs import own_costs_reader

TRACE_SUMMARY_SCHEMA = pa.schema(
    [
        pa.field("trace_id", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("name_key", pa.int64()),
        pa.field("request_preview", pa.string()),
        pa.field("request_preview_key", pa.int64()),
        pa.field("response_preview", pa.string()),
        pa.field("response_preview_key", pa.int64()),
        pa.field("experiment", pa.string()),
        pa.field("experiment_key", pa.int64()),
        pa.field("service_name", pa.string()),
        pa.field("service_name_key", pa.int64()),
        pa.field("step_start_time_unix_nano", pa.int64()),
        pa.field("step_end_time_unix_nano", pa.int64()),
        pa.field("any_start_time_unix_nano", pa.int64()),
        pa.field("any_end_time_unix_nano", pa.int64()),
        # The same first start and last end as timestamps, for engines reading the files.
        pa.field("start_time", pa.timestamp("us", tz="UTC")),
        pa.field("end_time", pa.timestamp("us", tz="UTC")),
        pa.field("span_count", pa.int64()),
        pa.field("input_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("total_tokens", pa.int64()),
        pa.field("has_error", pa.bool_()),
        pa.field("has_ok", pa.bool_()),
        pa.field("session_id", pa.string()),
        pa.field("user_id", pa.string()),
        pa.field("span_bits_low", pa.int64()),
        pa.field("span_bits_high", pa.int64()),
    ]
)

# One sortable number per span: has-parent flag, then the start time (clamped to 62 bits,
# which lasts until the year 2116). Smallest = the trace's root. At most 2^63 - 1, so it is a
# non-negative BIGINT: no unsigned column (Spark reads uint64 as decimal(20,0), Iceberg has none).
_SPAN_KEY = (
    "((parent_span_id IS NOT NULL)::BIGINT << 62)"
    " | least(greatest(start_time_unix_nano, 0), 4611686018427387903)::BIGINT"
)
_SPAN_BIT = "(('0x' || right(span_id, 2))::UTINYINT & 127)"
# Bit ``b`` (0-63) of a BIGINT bit set: bit 63 is the sign bit (``1 << 63`` overflows in
# DuckDB), so it is written as the smallest BIGINT. The sets are only and-ed, or-ed and
# counted, which the sign does not change.
_BIT_OF = "(CASE WHEN {b} = 63 THEN (-9223372036854775807)::BIGINT - 1 ELSE 1::BIGINT << {b} END)"


def _saturated_sum(column: str) -> str:
    """``sum(column)`` as a BIGINT that stops at the int64 maximum instead of failing: a
    trace's token counts may add up beyond it (each one is at most int64). Not ``least()``:
    it skips NULLs, and a trace without counts must stay NULL."""
    limit = "9223372036854775807::HUGEINT"
    return f"(CASE WHEN sum({column}) > {limit} THEN {limit} ELSE sum({column}) END)::BIGINT"


# The span columns a partial summary is computed from.
SUMMARIZED_SPAN_COLUMNS = (
    "trace_id", "span_id", "parent_span_id", "name", "input_preview", "output_preview",
    "experiment", "service_name", "start_time_unix_nano", "end_time_unix_nano", "start_time",
    "end_time", "status_code", "input_tokens", "output_tokens", "total_tokens", "session_id",
    "user_id",
)


def spans_to_summaries_sql(source: str) -> str:
    """SQL turning span rows (``source``: a table, view or parenthesised query with the span
    columns) into partial summaries in ``TRACE_SUMMARY_SCHEMA``, one row per trace."""
    roots = ",\n        ".join(
        f"arg_min({span_column}, span_key) AS {column}, "
        f"min(span_key) FILTER (WHERE {span_column} IS NOT NULL) AS {column}_key"
        for column, span_column in _ROOT_COLUMNS
    )
    return f"""
    SELECT
        trace_id,
        {roots},
        min(start_time_unix_nano) AS step_start_time_unix_nano,
        max(end_time_unix_nano) AS step_end_time_unix_nano,
        min(start_time_unix_nano) AS any_start_time_unix_nano,
        max(end_time_unix_nano) AS any_end_time_unix_nano,
        min(start_time) AS start_time,
        max(end_time) AS end_time,
        count(*) AS span_count,
        {_saturated_sum("input_tokens")} AS input_tokens,
        {_saturated_sum("output_tokens")} AS output_tokens,
        {_saturated_sum("total_tokens")} AS total_tokens,
        bool_or(status_code = 'ERROR') AS has_error,
        bool_or(status_code = 'OK') AS has_ok,
        max(session_id) AS session_id,
        max(user_id) AS user_id,
        bit_or(CASE WHEN span_bit < 64 THEN {_BIT_OF.format(b="span_bit")} ELSE 0::BIGINT END)
            AS span_bits_low,
        bit_or(CASE WHEN span_bit >= 64 THEN {_BIT_OF.format(b="(span_bit - 64)")} ELSE 0::BIGINT END)
            AS span_bits_high
    FROM (
        SELECT *, {_SPAN_KEY} AS span_key, {_SPAN_BIT} AS span_bit
        FROM (
            SELECT {", ".join(SUMMARIZED_SPAN_COLUMNS)}
            FROM {source}
        )
    )
    GROUP BY trace_id
    """


@dataclass(frozen=True)
class _TraceColumn:
    """One column of the ``traces`` view: from a single partial, and combined over several."""

    name: str
    single: str
    combined: str


def _time(expression: str) -> str:
    return f"timezone('UTC', make_timestamp(({expression}) // 1000))"


_START = "coalesce({f}(step_start_time_unix_nano), {f}(any_start_time_unix_nano))"
_END = "coalesce({f}(step_end_time_unix_nano), {f}(any_end_time_unix_nano))"


def _start(aggregate: str) -> str:
    return _START.format(f=aggregate)


def _end(aggregate: str) -> str:
    return _END.format(f=aggregate)


_STATUS = """CASE WHEN {f}(has_error) THEN 'ERROR' WHEN {f}(has_ok) THEN 'OK' ELSE 'UNSET' END"""

# The columns of the ``traces`` view, in order; docs/storage.md describes them.
TRACE_COLUMNS = (
    _TraceColumn("trace_id", "trace_id", "trace_id"),
    _TraceColumn("name", "name", "arg_min(name, name_key)"),
    _TraceColumn(
        "request_preview", "request_preview", "arg_min(request_preview, request_preview_key)"
    ),
    _TraceColumn(
        "response_preview", "response_preview", "arg_min(response_preview, response_preview_key)"
    ),
    _TraceColumn("start_time", _time(_start("")), _time(_start("min"))),
    _TraceColumn("end_time", _time(_end("")), _time(_end("max"))),
    _TraceColumn(
        "duration_ms",
        f"({_end('')} - {_start('')}) / 1e6",
        f"({_end('max')} - {_start('min')}) / 1e6",
    ),
    _TraceColumn("status", _STATUS.format(f=""), _STATUS.format(f="bool_or")),
    _TraceColumn("span_count", "span_count", "sum(span_count)::BIGINT"),
    # The view's type stays HUGEINT; the sums stop at the int64 maximum (see _saturated_sum),
    # so readers that hold int64 (search_traces' Arrow table) can take every value.
    _TraceColumn("input_tokens", "input_tokens::HUGEINT", f"{_saturated_sum('input_tokens')}::HUGEINT"),
    _TraceColumn("output_tokens", "output_tokens::HUGEINT", f"{_saturated_sum('output_tokens')}::HUGEINT"),
    _TraceColumn("total_tokens", "total_tokens::HUGEINT", f"{_saturated_sum('total_tokens')}::HUGEINT"),
    _TraceColumn("session_id", "session_id", "max(session_id)"),
    _TraceColumn("user_id", "user_id", "max(user_id)"),
    _TraceColumn("experiment", "experiment", "arg_min(experiment, experiment_key)"),
    _TraceColumn("service_name", "service_name", "arg_min(service_name, service_name_key)"),
)

_MAY_REPEAT_SPANS = (
    "sum(bit_count(span_bits_low) + bit_count(span_bits_high)) "
    "<> bit_count(bit_or(span_bits_low)) + bit_count(bit_or(span_bits_high))"
)


def traces_from_unique_summaries_sql(summaries: str) -> str:
    """SQL for the ``traces`` rows when ``summaries`` holds at most one partial per trace."""
    columns = ", ".join(f"{c.single} AS {c.name}" for c in TRACE_COLUMNS)
    return f"SELECT {columns} FROM {summaries}"


def traces_from_summaries_sql(summaries: str, *, deduplicated_spans_of: str) -> str:
    """SQL for the ``traces`` rows from any number of partials per trace.

    ``deduplicated_spans_of`` is a format string with one ``{trace_ids}`` placeholder (a
    subquery of trace ids) that gives those traces' spans, one row per span; it is read only
    for traces whose partials might share a span.
    """
    combined = ", ".join(f"{c.combined} AS {c.name}" for c in TRACE_COLUMNS[1:])
    names = ", ".join(c.name for c in TRACE_COLUMNS)
    suspect_ids = "(SELECT trace_id FROM _combined WHERE may_repeat_spans)"
    recomputed = traces_from_unique_summaries_sql(
        f"({spans_to_summaries_sql(deduplicated_spans_of.format(trace_ids=suspect_ids))})"
    )
    return f"""
    WITH _combined AS (
        SELECT trace_id, {combined}, {_MAY_REPEAT_SPANS} AS may_repeat_spans
        FROM {summaries} GROUP BY trace_id
    )
    SELECT {names} FROM _combined WHERE NOT may_repeat_spans
    UNION ALL
    SELECT {names} FROM ({recomputed})
    """


def merge_summaries_sql(source: str) -> str:
    """SQL combining partial summaries of disjoint span sets into one partial per trace."""
    columns = []
    for field in TRACE_SUMMARY_SCHEMA:
        name = field.name
        if name == "trace_id":
            continue
        if name.endswith("_key"):
            expression = f"min({name})"
        elif any(name == column for column, _ in _ROOT_COLUMNS):
            expression = f"arg_min({name}, {name}_key)"
        elif name.startswith(("step_start", "any_start", "start_time")):
            expression = f"min({name})"
        elif name.startswith(("step_end", "any_end", "end_time")):
            expression = f"max({name})"
        elif name in ("span_count", "input_tokens", "output_tokens", "total_tokens"):
            expression = _saturated_sum(name)
        elif name in ("has_error", "has_ok"):
            expression = f"bool_or({name})"
        elif name.startswith("span_bits"):
            expression = f"bit_or({name})"
        else:
            expression = f"max({name})"
        columns.append(f"{expression} AS {name}")
    return f"SELECT trace_id, {', '.join(columns)} FROM {source} GROUP BY trace_id"


class SummaryCalculator:
    """Computes partial summaries of in-memory span tables with a private DuckDB connection.

    Used by one thread at a time (the writer or the compactor each own one).
    """

    def __init__(self) -> None:
        self._connection = duckdb.connect(
            config={"threads": 1, "memory_limit": "64MB", "preserve_insertion_order": False}
        )
        self._own_costs = own_costs_reader(self._connection)

    def summarize_spans(self, spans: pa.Table) -> pa.Table:
        """Partial summaries (one row per trace) of span rows that hold no span twice."""
        return self.summarize_with_roots(spans, roots=False)[0]

    def summarize_with_roots(self, spans: pa.Table, *, roots: bool = True) -> tuple[pa.Table, pa.Table | None]:
        """``summarize_spans`` and, with ``roots``, per trace its latest span start and its
        earliest root span (``arrow_summaries.ROOT_NOTE_SCHEMA``), from one pass over the
        spans (arrow_summaries.py; the SQL computes the partials it does not take)."""
        if not spans.num_rows:
            return _conform(TRACE_SUMMARY_SCHEMA.empty_table()), ROOT_NOTE_SCHEMA.empty_table() if roots else None
        found = summarize_in_arrow(spans, roots=roots, own_costs=self._own_costs)
        if found.partials is not None:
            return _conform(found.partials), found.roots
        self._connection.register("_spans_input", spans)
        try:
            result = self._connection.sql(spans_to_summaries_sql("_spans_input")).to_arrow_table()
        finally:
            self._connection.unregister("_spans_input")
        return _conform(result), found.roots

    def merge(self, partials: Sequence[pa.Table]) -> pa.Table:
        """One partial per trace from partials of disjoint span sets (e.g. one flush's
        chunks). Only traces found in several partials (few: those cut by a chunk boundary)
        go through DuckDB; the rest pass through as they are."""
        combined = pa.concat_tables(partials)
        if len(partials) < 2:
            return combined
        counts = combined.group_by("trace_id").aggregate([("trace_id", "count")])
        repeated = counts.filter(pc.greater(counts["trace_id_count"], 1))["trace_id"]
        if not len(repeated):
            return combined
        in_several = pc.is_in(combined["trace_id"], value_set=repeated.combine_chunks())
        self._connection.register("_partials_input", combined.filter(in_several))
        try:
            result = self._connection.sql(merge_summaries_sql("_partials_input")).to_arrow_table()
        finally:
            self._connection.unregister("_partials_input")
        return pa.concat_tables([combined.filter(pc.invert(in_several)), _conform(result)])

    def close(self) -> None:
        """Release the connection."""
        self._connection.close()


def _conform(table: pa.Table) -> pa.Table:
    return table.select(TRACE_SUMMARY_SCHEMA.names).cast(TRACE_SUMMARY_SCHEMA)


__all__ = [
    "SUMMARIZED_SPAN_COLUMNS",
    "TRACE_COLUMNS",
    "TRACE_SUMMARY_SCHEMA",
    "SummaryCalculator",
    "merge_summaries_sql",
    "spans_to_summaries_sql",
    "traces_from_summaries_sql",
    "traces_from_unique_summaries_sql",
]
