"""Ingest benchmark: durable spans/s into ``otel-feedback serve`` over OTLP/HTTP protobuf.

Starts the collector as a subprocess on a temporary data directory, sends GenAI-shaped traces
(CHAIN root, RETRIEVER, LLM with ~1.5 KB of input and output text; 100 traces per request) from
4 concurrent senders, then stops the collector and counts what is stored. The same senders are
first run against a minimal HTTP sink on the same server stack (uvicorn, reads the body, answers
200): the transport's ceiling, so the printed ratio says what our decode + validate + durable
write costs on this machine.

    .venv/bin/python bench/ingest.py [--senders 4] [--requests-per-sender 60] [--traces-per-request 100]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.server import CollectorProcess
from otel_feedback_collector.storage import connect

SPANS_PER_TRACE = 3


@dataclass
class SenderResult:
    """What one sender saw."""

    acked_spans: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)


def send_all(url: str, bodies: Sequence[Sequence[bytes]], spans_per_request: int) -> tuple[float, list[SenderResult]]:
    """Each sender thread posts its bodies in order; returns wall time and per-sender results."""
    target = urllib.parse.urlsplit(url)
    results = [SenderResult() for _ in bodies]
    start_gate = threading.Barrier(len(bodies) + 1)

    def run(own: Sequence[bytes], result: SenderResult) -> None:
        connection = http.client.HTTPConnection(target.netloc, timeout=60)
        start_gate.wait()
        for body in own:
            while True:
                began = time.perf_counter()
                connection.request("POST", target.path, body=body, headers={"Content-Type": "application/x-protobuf"})
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    result.latencies.append(time.perf_counter() - began)
                    result.acked_spans += spans_per_request
                    break
                result.errors[response.status] = result.errors.get(response.status, 0) + 1
                time.sleep(float(response.getheader("Retry-After") or 0.1))
        connection.close()

    threads = [threading.Thread(target=run, args=(own, result)) for own, result in zip(bodies, results)]
    for thread in threads:
        thread.start()
    start_gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, results


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def watch_peak_rss(pid: int) -> tuple[threading.Thread, list[float]]:
    """Poll a process's VmHWM until it exits; the list's last value is the latest reading
    (so it covers the graceful stop's final flush and compaction too)."""
    readings = [0.0]

    def poll() -> None:
        while True:
            try:
                readings[-1] = max(readings[-1], peak_rss_mb(pid))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                return
            time.sleep(0.02)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    return thread, readings


def retried_answers(results: list[SenderResult]) -> dict[int, int]:
    """How many answers of each non-200 status all senders got (each was retried)."""
    errors: dict[int, int] = {}
    for result in results:
        for status, count in result.errors.items():
            errors[status] = errors.get(status, 0) + count
    return errors


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_sink() -> None:
    """The baseline server: uvicorn with an app that reads the body and answers 200."""
    import socket

    import uvicorn

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    print(f"sink ready: http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    server.run(sockets=[sock])


def measure_sink(bodies: Sequence[Sequence[bytes]], spans_per_request: int) -> float:
    """Spans/s the same senders reach against the minimal sink."""
    sink = subprocess.Popen([sys.executable, __file__, "--serve-sink"], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None
        url = sink.stdout.readline().strip().split(": ", 1)[1] + "/v1/traces"
        elapsed, results = send_all(url, bodies, spans_per_request)
    finally:
        sink.terminate()
        sink.wait()
    return sum(r.acked_spans for r in results) / elapsed


def main() -> int:
    """Run the benchmark and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--requests-per-sender", type=int, default=60)
    parser.add_argument("--traces-per-request", type=int, default=100)
    parser.add_argument(
        "--collector-arg",
        action="append",
        default=[],
        help="extra argument for otel-feedback serve, e.g. --collector-arg=--max-pending-bytes=33554432",
    )
    parser.add_argument("--serve-sink", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sink:
        run_sink()
        return 0

    spans_per_request = args.traces_per_request * SPANS_PER_TRACE
    print(f"building {args.senders * args.requests_per_sender} requests of {spans_per_request} spans ...", flush=True)
    bodies = [
        [genai_trace_request(args.traces_per_request).SerializeToString() for _ in range(args.requests_per_sender)]
        for _ in range(args.senders)
    ]
    body_kb = statistics.mean(len(b) for own in bodies for b in own) / 1024
    sink_rate = measure_sink([[b for b in own] for own in bodies], spans_per_request)

    with tempfile.TemporaryDirectory(prefix="otel-feedback-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        log_path = Path(tmp) / "collector.log"
        with log_path.open("wb") as log:
            collector = CollectorProcess(data_dir, args=["--grpc-port", "-1", "--log-level", "WARNING", *args.collector_arg], log_file=log)
            collector.start()
            watcher, lifetime_rss = watch_peak_rss(collector.pid)
            try:
                elapsed, results = send_all(f"{collector.http_url}/v1/traces", bodies, spans_per_request)
                rss = peak_rss_mb(collector.pid)
            finally:
                stop_began = time.perf_counter()
                exit_code = collector.stop()
                stop_seconds = time.perf_counter() - stop_began
                watcher.join(timeout=5)
        stored = connect(data_dir).sql("select count(*) from spans").fetchall()[0][0]
        log_tail = log_path.read_text(errors="replace")[-2000:]

    acked = sum(r.acked_spans for r in results)
    latencies = [lat for r in results for lat in r.latencies]
    errors = retried_answers(results)
    rate = acked / elapsed
    print(f"requests: {len(latencies)} x {spans_per_request} spans ({body_kb:.0f} KB each), {args.senders} senders")
    print(f"durable spans/s:        {rate:,.0f}   (goal >= 20,000; acknowledged = fsynced in the write-ahead log)")
    print(
        f"in Parquet spans/s:     {acked / (elapsed + stop_seconds):,.0f}   "
        f"(including the graceful stop's final flush, {stop_seconds:.1f} s)"
    )
    print(f"ack latency p50 / p99:  {percentile(latencies, 0.50) * 1000:.1f} ms / {percentile(latencies, 0.99) * 1000:.1f} ms")
    print(f"collector peak RSS:     {rss:.0f} MB   (goal < 300 MB; while receiving)")
    print(f"  incl. graceful stop:  {lifetime_rss[-1]:.0f} MB   (last reading before exit: final flush + compaction)")
    print(f"baseline sink spans/s:  {sink_rate:,.0f}   (uvicorn reading the body and answering 200)")
    print(f"ratio collector/sink:   {rate / sink_rate:.2f}")
    print(f"retried answers:        {errors or 'none'}")
    print(f"stored after stop:      {stored:,} of {acked:,} acknowledged (exit code {exit_code})")
    if stored != acked or exit_code != 0:
        print("collector log tail:\n" + log_tail)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
