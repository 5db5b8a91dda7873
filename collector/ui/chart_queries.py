"""The numbers behind an experiment's charts, per hour or per day, aggregated in SQL.

The bucket follows the span of the data: hours when the experiment's traces cover at most
:data:`HOURLY_SPAN`, else days. At most :data:`MAX_BUCKETS` buckets are drawn (the newest),
so a query returns a bounded number of rows however many traces it reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from otel_feedback_collector.pricing import PriceTable
from otel_feedback_collector.ui.cost_queries import priced_groups

HOURLY_SPAN = dt.timedelta(hours=72)
MAX_BUCKETS = {"hour": 72, "day": 366}
# Feedback names drawn (the most used ones); more lines are unreadable.
MAX_FEEDBACK_NAMES = 6
_STEP = {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1)}


@dataclass
class ChartData:
    """One value per bucket for each chart (None where a bucket has no value)."""

    unit: str  # "hour" or "day"
    buckets: list[dt.datetime]
    traces: list[int]
    latency_p50: list[float | None]
    latency_p95: list[float | None]
    input_tokens: list[int]
    output_tokens: list[int]
    cost: list[float | None]
    # name -> share of thumbs-up (true) among true/false values, per bucket
    feedback: dict[str, list[float | None]] = field(default_factory=dict)


def _utc(column: str) -> str:
    """A TIMESTAMPTZ column as a UTC TIMESTAMP, so buckets do not depend on the session's zone."""
    return f"timezone('UTC', {column})"


def chart_data(connection: duckdb.DuckDBPyConnection, experiment: str, prices: PriceTable) -> ChartData | None:
    """The experiment's chart series, or None when it has no trace with a start time."""
    first, last = connection.execute(
        f"SELECT min({_utc('start_time')}), max({_utc('start_time')}) FROM traces WHERE experiment = ?", [experiment]
    ).fetchone()
    if first is None or last is None:
        return None
    unit = "hour" if last - first <= HOURLY_SPAN else "day"
    step = _STEP[unit]
    last_bucket = _truncate(last, unit)
    start = max(_truncate(first, unit), last_bucket - step * (MAX_BUCKETS[unit] - 1))
    buckets = [start + step * index for index in range(int((last_bucket - start) / step) + 1)]
    position = {bucket: index for index, bucket in enumerate(buckets)}
    size = len(buckets)
    data = ChartData(unit, buckets, [0] * size, [None] * size, [None] * size, [0] * size, [0] * size, [None] * size)
    bucket_sql = f"date_trunc('{unit}', {_utc('start_time')})"

    rows = connection.execute(
        f"""SELECT {bucket_sql} AS bucket, count(*), quantile_cont(duration_ms, 0.5), quantile_cont(duration_ms, 0.95),
                   coalesce(sum(input_tokens), 0)::BIGINT, coalesce(sum(output_tokens), 0)::BIGINT
            FROM traces WHERE experiment = ? AND {_utc('start_time')} >= ?
            GROUP BY bucket""",
        [experiment, start],
    ).fetchall()
    for bucket, count, p50, p95, tokens_in, tokens_out in rows:
        index = position[bucket]
        data.traces[index], data.latency_p50[index], data.latency_p95[index] = count, p50, p95
        data.input_tokens[index], data.output_tokens[index] = tokens_in, tokens_out

    costs = priced_groups(
        connection, prices, group_sql=bucket_sql,
        where_sql=f"experiment = ? AND {_utc('start_time')} >= ?", params=[experiment, start], every_own_cost=False,
    )
    for bucket, dollars in costs.items():
        if bucket in position:
            data.cost[position[bucket]] = dollars

    feedback = connection.execute(
        f"""SELECT a.name, date_trunc('{unit}', {_utc('t.start_time')}) AS bucket,
                   count(*) FILTER (WHERE a.value = 'true'), count(*)
            FROM assessments a JOIN traces t ON a.trace_id = t.trace_id
            WHERE t.experiment = ? AND {_utc('t.start_time')} >= ? AND a.type = 'feedback'
              AND a.value IN ('true', 'false')
            GROUP BY ALL""",
        [experiment, start],
    ).fetchall()
    totals: dict[str, int] = {}
    for name, _bucket, _up, count in feedback:
        totals[name] = totals.get(name, 0) + count
    kept = sorted(totals, key=lambda name: (-totals[name], name))[:MAX_FEEDBACK_NAMES]
    data.feedback = {name: [None] * size for name in sorted(kept)}
    for name, bucket, up, count in feedback:
        if name in data.feedback and bucket in position:
            data.feedback[name][position[bucket]] = up / count
    return data


def _truncate(moment: dt.datetime, unit: str) -> dt.datetime:
    moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if unit == "day" else moment
