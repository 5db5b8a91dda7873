"""Query benchmark: trace-by-id lookup and the newest-50-traces listing over 1,000,000 spans.

Builds GenAI-shaped traces (a CHAIN root, a RETRIEVER and an LLM span, ~1.5 KB of text each)
through the real write path (``SpanStore.write_traces``) into a temporary data directory, then
times both queries twice in the same run:

* baseline: the file set as flushed (many small files, not compacted),
* compacted: after ``compact(full=True)`` (files sorted by trace_id covering disjoint
  trace-id ranges),

and prints the numbers and the baseline/compacted ratios. Goals: lookup p50 < 50 ms, listing
< 200 ms. Usage: ``python bench/query.py [--spans N] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue  # noqa: E402

from otel_feedback_collector.storage import SpanStore, StoreBusy  # noqa: E402

_TRACES_PER_REQUEST = 100
_LOOKUP_SAMPLES = 50
_LISTING_SAMPLES = 10
_LISTING_SQL = (
    "SELECT trace_id, name, request_preview, start_time, duration_ms, status, span_count, "
    "total_tokens FROM traces ORDER BY start_time DESC LIMIT 50"
)
_LOOKUP_SQL = "SELECT * FROM spans WHERE trace_id = ? ORDER BY start_time_unix_nano"


def _kv(key: str, value: str | int) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _texts(count: int, size: int, rng: random.Random) -> list[str]:
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
        for _ in range(3000)
    ]
    texts = []
    for _ in range(count):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < size:
            parts.append(rng.choice(words))
        texts.append(" ".join(parts))
    return texts


def build_request(
    rng: random.Random, texts: list[str], start_ns: int
) -> tuple[ExportTraceServiceRequest, list[str]]:
    """One export request of 100 three-span GenAI traces; returns it and its trace ids."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend([_kv("service.name", "bench-app")])
    scope = resource_spans.scope_spans.add()
    scope.scope.name = "bench"
    trace_ids = []
    for index in range(_TRACES_PER_REQUEST):
        trace_id = rng.randbytes(16)
        trace_ids.append(trace_id.hex())
        root_id = rng.randbytes(8)
        begin = start_ns + index * 1000
        for position, kind in enumerate(("CHAIN", "RETRIEVER", "LLM")):
            span = scope.spans.add(
                trace_id=trace_id,
                span_id=root_id if position == 0 else rng.randbytes(8),
                name=kind.lower(),
                kind=1,
                start_time_unix_nano=begin + position,
                end_time_unix_nano=begin + 5_000_000,
            )
            if position:
                span.parent_span_id = root_id
            attributes = [
                _kv("openinference.span.kind", kind),
                _kv("input.value", rng.choice(texts)),
                _kv("output.value", rng.choice(texts)),
                _kv("session.id", f"session-{rng.randint(1, 1000)}"),
            ]
            if kind == "LLM":
                attributes += [
                    _kv("gen_ai.operation.name", "chat"),
                    _kv("gen_ai.request.model", "gpt-4o-mini"),
                    _kv("gen_ai.usage.input_tokens", rng.randint(100, 900)),
                    _kv("gen_ai.usage.output_tokens", rng.randint(10, 300)),
                ]
            span.attributes.extend(attributes)
    return request, trace_ids


def time_queries(connection: duckdb.DuckDBPyConnection, sample_ids: list[str]) -> dict[str, float]:
    """Return lookup p50/p95 and listing median in milliseconds."""
    lookups = []
    for trace_id in sample_ids:
        began = time.perf_counter()
        rows = connection.execute(_LOOKUP_SQL, [trace_id]).fetchall()
        lookups.append((time.perf_counter() - began) * 1000)
        assert len(rows) == 3, f"expected 3 spans for {trace_id}, got {len(rows)}"
    listings = []
    for _ in range(_LISTING_SAMPLES):
        began = time.perf_counter()
        rows = connection.execute(_LISTING_SQL).fetchall()
        listings.append((time.perf_counter() - began) * 1000)
        assert len(rows) == 50
    lookups.sort()
    return {
        "lookup_p50_ms": statistics.median(lookups),
        "lookup_p95_ms": lookups[int(len(lookups) * 0.95) - 1],
        "listing_median_ms": statistics.median(listings),
    }


def main() -> int:
    """Run the benchmark and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--keep", help="build in this directory and keep it")
    args = parser.parse_args()
    rng = random.Random(42)
    texts = _texts(2000, 750, rng)
    data_dir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="otel-feedback-bench-"))
    requests = max(1, args.spans // (_TRACES_PER_REQUEST * 3))
    print(f"building {requests * _TRACES_PER_REQUEST * 3:,} spans in {data_dir}")
    sample: list[str] = []
    store = SpanStore(data_dir, flush_interval=1.0, compaction_fan_in=10_000)
    store.open()
    try:
        began = time.perf_counter()
        start_ns = time.time_ns() - requests * _TRACES_PER_REQUEST * 1000
        for number in range(requests):
            request, trace_ids = build_request(
                rng, texts, start_ns + number * _TRACES_PER_REQUEST * 1000
            )
            while True:
                try:
                    store.write_traces(request)
                    break
                except StoreBusy as busy:  # like an OTLP exporter: back off and retry
                    time.sleep(busy.retry_after / 4)
            if rng.random() < 0.05:
                sample.append(rng.choice(trace_ids))
        store.flush()
        build_seconds = time.perf_counter() - began
        print(f"write+flush: {build_seconds:.1f} s ({requests * 300 / build_seconds:,.0f} spans/s, one sender incl. request building)")
        sample = (sample * _LOOKUP_SAMPLES)[:_LOOKUP_SAMPLES]
        files_before = len(list((data_dir / "spans").glob("*.parquet")))
        baseline = time_queries(store.connect(), sample)
        began = time.perf_counter()
        store.compact(full=True)
        print(f"full compaction of {files_before} files: {time.perf_counter() - began:.1f} s")
        compacted = time_queries(store.connect(), sample)
    finally:
        store.close()
    size = sum(p.stat().st_size for p in (data_dir / "spans").glob("*.parquet"))
    print(f"parquet on disk (incl. retired files in grace period): {size / 1e6:,.0f} MB")
    print(f"{'metric':<20}{'baseline':>12}{'compacted':>12}{'ratio':>8}{'goal':>10}")
    goals = {"lookup_p50_ms": 50.0, "lookup_p95_ms": None, "listing_median_ms": 200.0}
    for metric, goal in goals.items():
        ratio = baseline[metric] / compacted[metric] if compacted[metric] else float("inf")
        goal_text = f"< {goal:.0f}" if goal else ""
        print(f"{metric:<20}{baseline[metric]:>12.1f}{compacted[metric]:>12.1f}{ratio:>7.1f}x{goal_text:>10}")
    print(f"(baseline = {files_before} flushed files before compaction; ratio = baseline/compacted)")
    if not args.keep:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
