"""The UI traces table's costs at scale: the trace index's cost inputs against the spans' attributes.

Opens the store of a data directory filled by ``bench/reads_at_scale.py`` (no collector may be
running on it); with ``--merge`` first merges every span file (a full compaction), so the
newest traces sit in one large merged run: the slow case, where reading the page's spans meant
decoding their files' ``attributes`` column. Then, for the newest page of the ``bench``
experiment (50 traces), it prints the median wall and CPU milliseconds (CPU: this process, every
thread; the load skews it less) of:

* the whole traces table (``routes._traces_table``, what ``GET /experiments/bench`` renders);
* ``trace_costs``: the cost inputs the trace index keeps (storage/cost_inputs.py);
* the spans' path (``costs_from_spans``: what every page read before), as the baseline;

checks that both give the same dollars, and prints the span files holding the page and the load.

Usage: ``python bench/trace_costs_at_scale.py --data DIR [--merge] [--samples N]``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from otel_feedback_collector.api.store_access import ApiStore  # noqa: E402
from otel_feedback_collector.pricing import load_price_table  # noqa: E402
from otel_feedback_collector.query.search import find_traces, one_trace_spans  # noqa: E402
from otel_feedback_collector.storage import SpanStore, file_traces  # noqa: E402
from otel_feedback_collector.ui.cost_queries import costs_from_spans, trace_costs  # noqa: E402
from otel_feedback_collector.ui.routes import _traces_table  # noqa: E402
from otel_feedback_collector.ui.trace_table import TableControls  # noqa: E402

EXPERIMENT = "bench"


def timed(samples: int, run: Callable[[], Any]) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``run`` (after one warm-up call)."""
    run()
    walls, cpus = [], []
    for _ in range(samples):
        began, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append((time.perf_counter() - began) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--merge", action="store_true", help="merge every span file first (a full compaction)")
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args()
    data_dir = Path(args.data)
    store = SpanStore(data_dir, compaction_fan_in=1000)  # no background merge while timing
    store.open()
    try:
        if args.merge:
            began = time.perf_counter()
            merged = store.compact(full=True)
            print(f"full compaction: {merged} files merged away in {time.perf_counter() - began:.0f} s")
        api = ApiStore(store)
        prices = load_price_table()
        with store.reading():  # the live files' trace numbers, as a running collector has them
            pass
        file_traces.wait_warmed(600)
        ids = api.read(
            lambda c: [row["trace_id"] for row in find_traces(c, experiment=EXPERIMENT, max_results=50, include_bodies=False).rows]
        )
        files = api.read(lambda c: sorted({one_trace_spans(c, trace_id)[0] for trace_id in ids}))
        sizes = [
            f"{Path(part.strip(chr(39))).name} ({Path(part.strip(chr(39))).stat().st_size / 2**20:.0f} MB)"
            for source in files
            for part in source[source.find("[") + 1 : source.rfind("]")].split(", ")
        ]
        print(f"the page's {len(ids)} traces are in: {', '.join(sorted(set(sizes)))}")
        new = api.read(lambda c: trace_costs(c, prices, ids))
        old = api.read(lambda c: costs_from_spans(c, prices, ids))
        same = new.keys() == old.keys() and all(math.isclose(new[k], old[k], rel_tol=1e-12) for k in new)
        print(f"dollars of {len(new)} priced traces, index vs spans: {'the same' if same else 'DIFFERENT'}")
        rows = [
            ("UI traces table (in-process)", lambda: _traces_table(api, prices, EXPERIMENT, TableControls())),
            ("trace_costs (index cost inputs)", lambda: api.read(lambda c: trace_costs(c, prices, ids))),
            ("baseline: costs from the spans", lambda: api.read(lambda c: costs_from_spans(c, prices, ids))),
        ]
        load = os.getloadavg()[0]
        for label, run in rows:
            wall, cpu = timed(args.samples, run)
            print(f"{label:34s} {wall:8.1f} ms wall {cpu:8.1f} ms CPU (median of {args.samples})")
        print(f"load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at end")
        return 0 if same else 1
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
