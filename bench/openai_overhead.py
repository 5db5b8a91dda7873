"""What OpenAI auto-instrumentation adds to a non-streaming chat call.

Runs the same ``chat.completions.create`` against the local OpenAI-compatible server, in one
process, alternating blocks of uninstrumented and instrumented calls (so drift in the machine
affects both alike), and prints the per-call time of each, the added microseconds and the
ratio. Spans go through a real SDK TracerProvider with a BatchSpanProcessor (as ``configure()``
sets up) into an exporter that drops them, so export I/O is not counted.

    .venv/bin/python bench/openai_overhead.py [--calls 200] [--rounds 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

import openai
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from otel_feedback.openai import OpenAIInstrumentor
from otel_feedback_testing import LocalOpenAIServer

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant for the otel-feedback project."},
    {"role": "user", "content": "What is OpenTelemetry and why should my GenAI app use it?"},
]


class DroppingExporter(SpanExporter):
    """Accepts every batch and keeps nothing."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Drop ``spans``."""
        return SpanExportResult.SUCCESS


def _block(client: openai.OpenAI, calls: int) -> float:
    """Seconds per call over ``calls`` sequential calls."""
    start = time.perf_counter()
    for _ in range(calls):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0.2)
    return (time.perf_counter() - start) / calls


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the result."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per block (default 200)")
    parser.add_argument("--rounds", type=int, default=20, help="blocks of each kind (default 20)")
    options = parser.parse_args(argv)

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(DroppingExporter()))
    trace_api.set_tracer_provider(provider)
    instrumentor = OpenAIInstrumentor()

    with LocalOpenAIServer() as server, openai.OpenAI(base_url=server.base_url, api_key="bench",
                                                      max_retries=0) as client:
        _block(client, options.calls)  # warm up the connection pool and the code paths
        instrumentor.instrument()
        _block(client, options.calls)
        instrumentor.uninstrument()

        plain: list[float] = []
        traced: list[float] = []
        for round_number in range(options.rounds):
            order = ((False, plain), (True, traced)) if round_number % 2 == 0 else ((True, traced), (False, plain))
            for instrumented, results in order:
                if instrumented:
                    instrumentor.instrument()
                results.append(_block(client, options.calls))
                if instrumented:
                    instrumentor.uninstrument()
    provider.shutdown()

    plain_us = statistics.median(plain) * 1e6
    traced_us = statistics.median(traced) * 1e6
    print(f"non-streaming chat call, {options.rounds} x {options.calls} calls each, median of block means")
    print(f"  uninstrumented: {plain_us:9.1f} us/call")
    print(f"  instrumented:   {traced_us:9.1f} us/call")
    print(f"  added:          {traced_us - plain_us:9.1f} us/call")
    print(f"  ratio:          {traced_us / plain_us:9.3f}x")


if __name__ == "__main__":
    main()
