"""The numbers behind the charts, the sessions and the cost, read from a real store (traces
sent through OTLP/HTTP at known times), and the chart geometry drawn from them."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from insight_data import EXPERIMENT, OWN_COST, TURN_COST, TURNS, Turn, send_turns

from otel_feedback_collector.pricing import DEFAULT_PRICES, PriceTable
from otel_feedback_collector.server import CollectorServer
from otel_feedback_collector.ui.chart_queries import MAX_BUCKETS, chart_data
from otel_feedback_collector.ui.charts import LEFT, PLOT_HEIGHT, PLOT_WIDTH, TOP, line_chart, nice_ceiling
from otel_feedback_collector.ui.cost_queries import trace_costs
from otel_feedback_collector.ui.session_queries import conversation_turns, session_page

PRICES = PriceTable(DEFAULT_PRICES)


@contextmanager
def reading(collector: CollectorServer) -> Iterator[Any]:
    """A connection that sees what was flushed so far (the views are bound when it opens)."""
    connection = collector.store.connect()
    try:
        yield connection
    finally:
        connection.close()


def quantile(values: list[float], share: float) -> float:
    """Linear-interpolation quantile (what quantile_cont computes)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def test_hourly_series_match_the_sent_traces(collector: CollectorServer) -> None:
    send_turns(collector)
    with reading(collector) as connection:
        data = chart_data(connection, EXPERIMENT, PRICES)
        assert data is not None and data.unit == "hour"
        assert data.buckets == [dt.datetime(2025, 11, 20, hour) for hour in (9, 10, 11)]
        by_hour = {hour: [turn for turn in TURNS if turn.hour == hour] for hour in (0, 1, 2)}
        assert data.traces == [len(by_hour[hour]) for hour in (0, 1, 2)] == [2, 0, 3]
        for index, hour in enumerate((0, 1, 2)):
            durations = [float(turn.duration_ms) for turn in by_hour[hour]]
            if not durations:
                assert data.latency_p50[index] is None and data.cost[index] is None
                continue
            assert math.isclose(data.latency_p50[index], quantile(durations, 0.5), rel_tol=1e-6)
            assert math.isclose(data.latency_p95[index], quantile(durations, 0.95), rel_tol=1e-6)
            assert data.input_tokens[index] == 1200 * len(durations) and data.output_tokens[index] == 300 * len(durations)
            expected_cost = sum(OWN_COST if turn.own_cost else TURN_COST for turn in by_hour[hour])
            assert math.isclose(data.cost[index], expected_cost)
        # Share of thumbs-up among the true/false feedback of each hour's traces.
        assert data.feedback == {"user_feedback": [0.5, None, 1.0]}


def test_days_when_the_data_spans_more_than_three_days_and_at_most_366_of_them(
    collector: CollectorServer,
) -> None:
    turns = [Turn(None, hour, f"q{hour}", "a", 10, None) for hour in (0, 24 * 4, 24 * 500)]
    send_turns(collector, turns, experiment="long-run")
    with reading(collector) as connection:
        data = chart_data(connection, "long-run", PRICES)
        assert data is not None and data.unit == "day"
        assert len(data.buckets) == MAX_BUCKETS["day"]
        assert data.buckets[-1] - data.buckets[0] == dt.timedelta(days=365)
        # The first turn is older than the window, the day-4 one too; the last one is drawn.
        assert sum(data.traces) == 1 and data.traces[-1] == 1
        assert chart_data(connection, "no-such-experiment", PRICES) is None


def test_sessions_turn_counts_first_question_and_feedback(collector: CollectorServer) -> None:
    sent = send_turns(collector)
    with reading(collector) as connection:
        sessions, total = session_page(connection, EXPERIMENT)
        assert total == 2
        # The most recently active session first.
        assert [(s.session_id, s.turns) for s in sessions] == [("sess-alpha", 3), ("sess-beta", 1)]
        alpha = sessions[0]
        assert alpha.first_trace_id == sent[0].trace_id
        assert [(f.name, f.up, f.down, f.other) for f in alpha.feedback] == [("user_feedback", 1, 1, 0)]
        assert [(f.name, f.up, f.down) for f in sessions[1].feedback] == [("user_feedback", 1, 0)]
        turns = conversation_turns(connection, EXPERIMENT, "sess-alpha")
        assert [turn["trace_id"] for turn in turns] == [t.trace_id for t in sent if t.session == "sess-alpha"]
        assert conversation_turns(connection, EXPERIMENT, "sess-nobody") == []


def test_trace_costs_from_tokens_or_the_spans_own_cost(collector: CollectorServer) -> None:
    sent = send_turns(collector)
    with reading(collector) as connection:
        costs = trace_costs(connection, PRICES, [turn.trace_id for turn in sent])
        for turn in sent:
            assert math.isclose(costs[turn.trace_id], turn.own_cost or TURN_COST)
        assert trace_costs(connection, PriceTable({}), [sent[0].trace_id]) == {}  # no price, no figure
        assert trace_costs(connection, PRICES, []) == {}


def test_line_chart_places_each_point_by_its_value() -> None:
    chart = line_chart(chart_id="c", title="Traces per hour", labels=["9", "10", "11"],
                       series={"traces": [2, None, 3]}, formatter=str)
    top = nice_ceiling(3)
    assert top == 5
    (line,) = chart.lines
    assert [(p.label, p.value) for p in line.points] == [("9", 2), ("11", 3)]
    assert line.points[0].x == LEFT and line.points[1].x == LEFT + PLOT_WIDTH
    assert line.points[0].y == round(TOP + PLOT_HEIGHT * (1 - 2 / top), 2)
    assert len(line.segments) == 2  # a gap where the middle hour has no value
    assert "highest 3 at 11" in chart.description
    assert chart.table == [["9", "2"], ["10", ""], ["11", "3"]]
    assert [nice_ceiling(v) for v in (0, 0.3, 7, 12, 250)] == [1.0, 0.5, 10, 20, 250]


def test_a_priced_spans_own_cost_counts_in_its_trace_but_charts_price_its_tokens(collector: CollectorServer) -> None:
    (turn,) = send_turns(collector, [Turn(None, 0, "q", "a", 10, None, 0.25)], experiment="own-cost")
    with reading(collector) as connection:
        assert trace_costs(connection, PRICES, [turn.trace_id]) == {turn.trace_id: 0.25}
        # A whole-experiment scan reads attributes only where no price applies (docs/ui.md, Cost).
        data = chart_data(connection, "own-cost", PRICES)
        assert data is not None and data.cost == [pytest.approx(TURN_COST)]
