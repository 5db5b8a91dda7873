"""Insight-page query benchmark: the charts, the sessions list, a conversation, a traces-table
page's readable texts and costs, and a span search, over a data directory of bench/query.py
(1,000,000 GenAI-shaped spans in 1,000 sessions, gpt-4o-mini token counts).

Prints each query's median time and its ratio to the traces table's own listing (the newest
50 traces), measured in the same run on the same connection::

    python bench/query.py --keep /tmp/bench-1m        # build the data once
    python bench/insight_queries.py --data /tmp/bench-1m
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from otel_feedback_collector.pricing import DEFAULT_PRICES, PriceTable  # noqa: E402
from otel_feedback_collector.storage import SpanStore  # noqa: E402
from otel_feedback_collector.ui.chart_queries import chart_data  # noqa: E402
from otel_feedback_collector.ui.cost_queries import trace_costs  # noqa: E402
from otel_feedback_collector.ui.queries import root_values, span_search  # noqa: E402
from otel_feedback_collector.ui.session_queries import conversation_turns, session_page  # noqa: E402

_LISTING_SQL = (
    "SELECT trace_id, name, request_preview, start_time, duration_ms, status, span_count, "
    "total_tokens FROM traces WHERE experiment = ? ORDER BY start_time DESC LIMIT 50"
)


def median_ms(run: Callable[[], Any], repeats: int) -> float:
    """The median wall time of ``run`` in milliseconds (after one warm-up call)."""
    run()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> int:
    """Time each query and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a data directory built by bench/query.py --keep")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    prices = PriceTable(DEFAULT_PRICES)
    store = SpanStore(Path(args.data))
    store.open()
    try:
        connection = store.connect()
        experiment = connection.execute("SELECT experiment FROM traces LIMIT 1").fetchone()[0]
        page_ids = [row[0] for row in connection.execute(_LISTING_SQL, [experiment]).fetchall()]
        session = connection.execute(
            "SELECT session_id FROM traces WHERE experiment = ? AND session_id IS NOT NULL LIMIT 1", [experiment]
        ).fetchone()[0]
        spans = connection.execute("SELECT count(*) FROM spans").fetchone()[0]
        queries: dict[str, Callable[[], Any]] = {
            "traces listing (baseline)": lambda: connection.execute(_LISTING_SQL, [experiment]).fetchall(),
            "charts (all series)": lambda: chart_data(connection, experiment, prices),
            "sessions page": lambda: session_page(connection, experiment),
            "conversation": lambda: conversation_turns(connection, experiment, session),
            "table page texts (50)": lambda: root_values(connection, page_ids),
            "table page costs (50)": lambda: trace_costs(connection, prices, page_ids),
            "span search (1 trace)": lambda: span_search(connection, page_ids[0], "gpt"),
        }
        results = {name: median_ms(run, args.repeats) for name, run in queries.items()}
    finally:
        store.close()
    baseline = results["traces listing (baseline)"]
    print(f"{spans:,} spans, experiment {experiment!r}; median of {args.repeats} runs")
    print(f"{'query':<28}{'ms':>10}{'x listing':>11}")
    for name, value in results.items():
        print(f"{name:<28}{value:>10.1f}{value / baseline:>10.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
