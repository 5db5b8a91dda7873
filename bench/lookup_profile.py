"""Where the time of one trace by id goes: the REST handler's work in-process, query by query.

Opens the store of a data directory filled by ``bench/reads_at_scale.py`` (no collector may be
running on it), then builds the answer of ``GET /api/v1/traces/{id}`` for random ids of its
``bench-sample.json``, as the route does (store reads, JSON), and prints the median wall and CPU
milliseconds per answer (CPU: this process, every thread; the load skews it less) and the
median of each SQL query it ran, with how often it ran per answer. The span reads are grouped
by how many files they opened.

Usage: ``python bench/lookup_profile.py --data DIR [--samples N] [--profile]`` (``--profile``
adds a cProfile of the answers, by cumulative time).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import random
import re
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from otel_feedback_collector.api.assessment_json import assessment_to_json, current_assessments, latest_values  # noqa: E402
from otel_feedback_collector.api.encoding import JsonResponse  # noqa: E402
from otel_feedback_collector.api.store_access import ApiStore  # noqa: E402
from otel_feedback_collector.api.trace_json import span_to_json, trace_summary_to_json  # noqa: E402
from otel_feedback_collector.storage import SpanStore, file_traces  # noqa: E402


class _Rows:
    """A finished query's rows, as the read functions use a cursor after ``execute``."""

    def __init__(self, rows: list[Any], description: Any) -> None:
        self.rows, self.description = rows, description

    def fetchall(self) -> list[Any]:
        return self.rows

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None


class _TimedConnection:
    """A read connection that times each query to its last row."""

    def __init__(self, inner: Any, log: list[tuple[str, float]]) -> None:
        self._inner, self._log = inner, log

    def execute(self, sql: str, parameters: Any = None) -> _Rows:
        began = time.perf_counter()
        cursor = self._inner.execute(sql, parameters) if parameters is not None else self._inner.execute(sql)
        rows = cursor.fetchall()
        self._log.append((_label(sql), (time.perf_counter() - began) * 1000))
        return _Rows(rows, cursor.description)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _label(sql: str) -> str:
    text = " ".join(sql.split())
    if "read_parquet" in text:
        return f"spans from {text.count('.parquet')} file(s): " + re.sub(r"read_parquet\(\[.*?\]\)", "<files>", text)[:70]
    return text[:100]


def answer(api: ApiStore, trace_id: str) -> bytes:
    """The body of ``GET /api/v1/traces/{trace_id}`` (as trace_routes.get_trace builds it)."""
    summary, spans, log = api.trace_detail(trace_id)
    current = current_assessments(log)
    body = {
        "trace": trace_summary_to_json(summary, latest_values(current)),
        "spans": [span_to_json(span) for span in spans],
        "assessments": [assessment_to_json(row) for row in current],
    }
    return JsonResponse(body).body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    data_dir = Path(args.data)
    sample = json.loads((data_dir / "bench-sample.json").read_text())
    rng = random.Random(3)
    store = SpanStore(data_dir)
    store.open()
    try:
        api = ApiStore(store)
        with store.reading():  # the live files' trace numbers, as a running collector has them
            pass
        file_traces.wait_warmed(600)
        for _ in range(5):
            answer(api, rng.choice(sample))
        walls, cpus = [], []
        for _ in range(args.samples):
            began, cpu = time.perf_counter(), time.process_time()
            answer(api, rng.choice(sample))
            walls.append((time.perf_counter() - began) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        print(
            f"one trace by id, in-process (median of {args.samples}): {statistics.median(walls):.1f} ms wall, "
            f"{statistics.median(cpus):.1f} ms CPU; load {os.getloadavg()[0]:.1f}"
        )
        log: list[tuple[str, float]] = []
        plain = api.connection

        @contextlib.contextmanager
        def timed() -> Iterator[Any]:
            with plain() as connection:
                yield _TimedConnection(connection, log)

        api.connection = timed  # type: ignore[method-assign]
        for _ in range(args.samples):
            answer(api, rng.choice(sample))
        api.connection = plain  # type: ignore[method-assign]
        by_query: dict[str, list[float]] = {}
        for label, milliseconds in log:
            by_query.setdefault(label, []).append(milliseconds)
        for label, times in by_query.items():
            print(f"{statistics.median(times):7.2f} ms  x{len(times) / args.samples:.2f}  {label}")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.samples):
                answer(api, rng.choice(sample))
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
