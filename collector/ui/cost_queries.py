"""Dollars per trace, per span and per time bucket, from the ``spans`` view and a price table.

SQL adds up tokens per (group, model) and the spans' own cost attributes; Python prices the
sums (otel_feedback_collector.pricing). So a query returns a few rows per group however many
spans it read. Only spans with a model or token counts are read for cost (an LLM call carries
them); their ``attributes`` are parsed for a cost attribute, nothing else's, and in a scan of a
whole experiment only where no price applies (see :func:`priced_groups`).

Dollars per trace come from the trace index where it knows the sums (storage/cost_inputs.py:
each flush notes them per trace, in the same groups), so a page of traces never reads the
spans' ``attributes``; only the traces it does not know are read from the spans.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

from otel_feedback_collector.pricing import COST_ATTRIBUTES, PriceTable
from otel_feedback_collector.query.search import one_trace_spans, spans_since, trace_windows
from otel_feedback_collector.storage.cost_inputs import OWN_COST_SQL as _OWN_COST
from otel_feedback_collector.storage.cost_inputs import PRICED_SPAN_SQL as _PRICED_SPAN


def priced_groups(
    connection: duckdb.DuckDBPyConnection,
    prices: PriceTable,
    *,
    group_sql: str,
    where_sql: str,
    params: Sequence[Any],
    every_own_cost: bool = True,
    source: str = "spans",
) -> dict[Any, float]:
    """Dollars per value of ``group_sql`` over the spans matching ``where_sql`` (both SQL
    written by this package, never from a request; values travel in ``params``). A group
    whose spans have no known price is left out. ``source``: the spans to read (the view, or
    a ``read_parquet`` of the files that can hold them).

    ``every_own_cost=False`` is for scans of a whole experiment: a span's ``attributes`` (which
    hold its input and output too) are then read only where the table cannot price the span
    (an unknown model, or no token counts); reading them for every LLM span of a million took
    seconds. A priced span's own cost attribute is then not seen."""
    if every_own_cost:
        return _sum_priced(prices, connection.execute(
            f"""SELECT grp, model, own IS NOT NULL AS has_own,
                       sum(input_tokens)::DOUBLE, sum(output_tokens)::DOUBLE, sum(own)
                FROM (SELECT {group_sql} AS grp, model, input_tokens, output_tokens, {_OWN_COST} AS own
                      FROM {source} WHERE ({where_sql}) AND {_PRICED_SPAN})
                GROUP BY ALL""",
            list(params),
        ).fetchall())
    token_rows = connection.execute(
        f"""SELECT {group_sql} AS grp, model, false, sum(input_tokens)::DOUBLE, sum(output_tokens)::DOUBLE, NULL,
                   count(*) FILTER (WHERE input_tokens IS NULL AND output_tokens IS NULL)
            FROM {source} WHERE ({where_sql}) AND {_PRICED_SPAN}
            GROUP BY ALL""",
        list(params),
    ).fetchall()
    priced = sorted({row[1] for row in token_rows if row[1] is not None and prices.price_of(row[1]) is not None})
    rows = [row[:6] for row in token_rows]
    # Read attributes only when some span cannot be priced: the scan reads them for every span.
    if any(row[1] not in priced or row[6] for row in token_rows):
        rows += connection.execute(
            f"""SELECT grp, NULL, true, NULL, NULL, sum(own) FROM (
                    SELECT {group_sql} AS grp, {_OWN_COST} AS own FROM {source}
                    WHERE ({where_sql}) AND {_PRICED_SPAN}
                      AND ((input_tokens IS NULL AND output_tokens IS NULL) OR model IS NULL
                           OR NOT list_contains(?, model)))
                WHERE own IS NOT NULL GROUP BY ALL""",
            [*params, priced],
        ).fetchall()
    return _sum_priced(prices, rows)


def _sum_priced(prices: PriceTable, rows: Sequence[tuple[Any, ...]]) -> dict[Any, float]:
    """Rows of (group, model, has own cost, input tokens, output tokens, own cost) -> dollars per group."""
    totals: dict[Any, float] = {}
    for group, model, has_own, input_tokens, output_tokens, own in rows:
        cost = prices.span_cost(model, input_tokens, output_tokens, own_cost=own if has_own else None)
        if cost is not None:
            totals[group] = totals.get(group, 0.0) + cost
    return totals


def trace_costs(
    connection: duckdb.DuckDBPyConnection, prices: PriceTable, trace_ids: Sequence[str]
) -> dict[str, float]:
    """Dollars per trace, for the traces that have a known price: from the cost inputs the
    trace index keeps (:func:`stored_cost_inputs`), else from the traces' spans."""
    if not trace_ids:
        return {}
    stored = stored_cost_inputs(connection, trace_ids)
    costs = _sum_priced(prices, [(trace_id, *entry) for trace_id, entries in stored.items() for entry in entries])
    unknown = [trace_id for trace_id in trace_ids if trace_id not in stored]
    if unknown:
        costs.update(costs_from_spans(connection, prices, unknown))
    return costs


def stored_cost_inputs(
    connection: duckdb.DuckDBPyConnection, trace_ids: Sequence[str]
) -> dict[str, list[tuple[Any, ...]]]:
    """Per trace the index knows the cost inputs of, its rows of (model, has own cost, input
    tokens, output tokens, own cost): one per (model, has own cost) as :func:`priced_groups`
    forms them over the spans, the sums of each flush's entries (a NULL sum stays NULL only
    if every flush's was)."""
    ids = list(trace_ids)
    first_row, last_row = connection.execute("SELECT * FROM trace_row_range(?)", [ids]).fetchone() or (None, None)
    rows = connection.execute(
        "SELECT trace_id, cost_inputs FROM trace_cost_inputs(?, ?, ?)", [ids, first_row, last_row]
    ).fetchall()
    found: dict[str, list[tuple[Any, ...]]] = {}
    for trace_id, entries in rows:
        sums: dict[tuple[Any, bool], list[Any]] = {}
        for entry in entries:
            group = sums.setdefault((entry["model"], entry["has_own"]), [None, None, None])
            for index, name in enumerate(("input_tokens", "output_tokens", "own_cost")):
                if entry[name] is not None:
                    group[index] = entry[name] + (group[index] or 0.0)
        found[trace_id] = [(model, has_own, *values) for (model, has_own), values in sums.items()]
    return found


def costs_from_spans(
    connection: duckdb.DuckDBPyConnection, prices: PriceTable, trace_ids: Sequence[str]
) -> dict[str, float]:
    """Dollars per trace from the traces' spans (their ``attributes`` for the own costs): what
    :func:`trace_costs` reads for traces the index does not know, and what it read for every
    trace before the index kept cost inputs (the baseline of bench/trace_costs_at_scale.py)."""
    if len(trace_ids) == 1:  # one trace (its page): only the files of its time are opened
        source, where, params = one_trace_spans(connection, trace_ids[0])
        return priced_groups(connection, prices, group_sql="trace_id", where_sql=where, params=params, source=source)
    # The traces' start bounds their spans' starts: older files are skipped unread.
    windows = trace_windows(connection, trace_ids).values()
    earliest = min((window[0] for window in windows), default=-(2**63))
    return priced_groups(
        connection,
        prices,
        group_sql="trace_id",
        where_sql="list_contains(?, trace_id) AND start_time_unix_nano >= ?",
        params=[list(trace_ids), earliest],
        source=spans_since(connection, earliest),
    )


def own_cost(attributes: Mapping[str, Any] | str | None) -> float | None:
    """A span's own cost attribute (see COST_ATTRIBUTES), or None."""
    if isinstance(attributes, str):
        try:
            attributes = json.loads(attributes)
        except ValueError:
            return None
    if not isinstance(attributes, Mapping):
        return None
    for name in COST_ATTRIBUTES:
        value = attributes.get(name)
        try:
            number = float(value) if value is not None and not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is not None and math.isfinite(number):
            return number
    return None


def span_cost(prices: PriceTable, span: Mapping[str, Any]) -> float | None:
    """One span's dollars from its row (model, token counts, attributes)."""
    return prices.span_cost(
        span.get("model"), span.get("input_tokens"), span.get("output_tokens"),
        own_cost=own_cost(span.get("attributes")),
    )
