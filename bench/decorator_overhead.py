"""How much does ``@trace`` cost over a bare OpenTelemetry span?

Same process, same TracerProvider, same exporter setup for both variants, run twice:

1. "sdk": a BatchSpanProcessor whose exporter drops the batch: the cost of making the span.
2. "otlp": the real OTLP/HTTP exporter behind a BatchSpanProcessor, sending to a sink in a
   subprocess that reads each request and answers 200. The exporter encodes attributes in
   Python on a background thread that competes for the GIL, so every attribute a span carries
   (ours carries five: span kind, input and output with their mime types) is paid again here.

- baseline: ``with tracer.start_as_current_span("add"): add(a, b)``
- ours:     ``@trace``-decorated ``add(a, b)``, inputs and outputs captured as JSON
- disabled: ``@trace`` with tracing switched off, against the undecorated call

Blocks of calls alternate between the variants; each block is followed by a flush, timed
separately, so the exporter's background work is paid inside the block that caused it.
Prints per-call microseconds and the ratios. Goal: ours/baseline <= 1.3.

Run: ``.venv/bin/python bench/decorator_overhead.py [--calls N] [--rounds R]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import otel_feedback
from otel_feedback import _config

_SINK = r"""
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def add(a: int, b: int) -> int:
    return a + b


class _DroppingExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _time_block(fn: Callable[[int, int], int], calls: int, provider: TracerProvider) -> tuple[float, float]:
    start = time.perf_counter()
    for i in range(calls):
        fn(i, 2)
    called = time.perf_counter()
    provider.force_flush()
    flushed = time.perf_counter()
    return called - start, flushed - start


def _run(setup: str, exporter: SpanExporter, calls: int, rounds: int) -> float:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=calls * 2, max_export_batch_size=512))
    otel_feedback.configure(tracer_provider=provider)
    tracer = provider.get_tracer("bench")

    def bare(a: int, b: int) -> int:
        with tracer.start_as_current_span("add"):
            return add(a, b)

    traced = otel_feedback.trace(add)
    variants: dict[str, Callable[[int, int], int]] = {"plain": add, "bare span": bare, "@trace": traced}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    disabled: list[tuple[float, float]] = []
    for fn in variants.values():  # warm-up
        _time_block(fn, calls // 5, provider)
    for _ in range(rounds):
        for name, fn in variants.items():
            results[name].append(_time_block(fn, calls, provider))
        _config.settings.enabled = False
        disabled.append(_time_block(traced, calls, provider))
        _config.settings.enabled = True
    provider.shutdown()

    def per_call(samples: list[tuple[float, float]], index: int) -> float:
        return statistics.median(sample[index] for sample in samples) / calls * 1e6

    print(f"\n[{setup}] {rounds} rounds x {calls} calls per variant, median per call")
    print(f"{'variant':<22}{'call path (us)':>16}{'incl. export (us)':>20}")
    for name in variants:
        print(f"{name:<22}{per_call(results[name], 0):>16.2f}{per_call(results[name], 1):>20.2f}")
    print(f"{'@trace (disabled)':<22}{per_call(disabled, 0):>16.2f}{per_call(disabled, 1):>20.2f}")
    ratio = 0.0
    for index, label in ((0, "call path"), (1, "incl. export")):
        ratio_here = per_call(results["@trace"], index) / per_call(results["bare span"], index)
        ratio = ratio or ratio_here
        print(f"[{setup}] ratio @trace / bare span ({label}): {ratio_here:.2f}x  (goal <= 1.30x)")
    overhead = per_call(disabled, 0) - per_call(results["plain"], 0)
    print(f"[{setup}] disabled @trace adds {overhead:.3f} us per call over an undecorated call")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[1])
    parser.add_argument("--calls", type=int, default=5_000, help="calls per block")
    parser.add_argument("--rounds", type=int, default=10, help="blocks per variant")
    args = parser.parse_args()

    _run("sdk", _DroppingExporter(), args.calls, args.rounds)
    sink = subprocess.Popen([sys.executable, "-c", _SINK], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None
        port = int(sink.stdout.readline())
        _run("otlp", OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces"), args.calls, args.rounds)
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
