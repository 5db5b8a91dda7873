"""Sustained ingest over 1,000,000 spans: spans/s, visibility after the last ack, collector RSS.

The shape of issue 15: 333k GenAI-shaped traces (a CHAIN root, a RETRIEVER and an LLM span,
~1.5 KB of text each, drawn from a pool so the text is not one repeated string), OTLP/HTTP
protobuf to a real ``otel-feedback serve`` process with its compactor running, 4 concurrent
senders, 100 traces per request.

The request bodies are built first and kept in a file (reused across runs with the same
arguments, so a before/after comparison sends the very same bytes); the senders only read and
post them, so they cost the collector's 2 cores little. Measured in the same run:

* baseline: the same senders against a minimal HTTP sink (uvicorn reading the body and answering
  200), the transport's ceiling on this machine;
* sustained durable spans/s (acknowledged = fsynced in the write-ahead log);
* visibility: seconds from the last acknowledgement until ``SELECT count(*) FROM spans``
  through the SQL path (``storage.connect``, what ``otel-feedback sql`` runs) sees every span;
* collector RSS sampled every 0.1 s from start to visibility (peak and p95), and the lifetime
  peak (VmHWM) including the graceful stop;
* the collector's child processes (compaction's merges run in one, merge_worker.py): their peak
  RSS, and the peak of the summed PSS (``/proc/<pid>/smaps_rollup``) of the collector and its
  children, sampled every 0.5 s: memory moved into a child still counts, and the libraries both
  map count once;
* CPU per span: user + system time of the collector and its children (live and exited);
* write amplification: spans rewritten by compaction's merges per span ingested (from the
  collector's ``Compacted ...`` log lines, so the collector runs at log level INFO), and the
  live span files per level at the end.

    .venv/bin/python bench/ingest_1m.py [--spans 1000000] [--senders 4] [--traces-per-request 100]

``OTEL_FEEDBACK_PROFILE=/tmp/prof`` profiles the collector (every thread, cProfile) through
``bench/profiling/sitecustomize.py``; pstats files are written next to that path at exit.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import (  # noqa: E402
    SPANS_PER_TRACE,
    measure_sink,
    peak_rss_mb,
    percentile,
    retried_answers,
    send_all,
    watch_peak_rss,
)

from otel_feedback_collector.otlp.synthetic import genai_trace_request  # noqa: E402
from otel_feedback_collector.server import CollectorProcess  # noqa: E402
from otel_feedback_collector.storage import connect  # noqa: E402
from otel_feedback_collector.storage.manifest import read_manifest  # noqa: E402

_LENGTH = struct.Struct("<I")
_TEXT_POOL = 4096
_TEXT_BYTES = 1500
_VISIBILITY_TIMEOUT = 300.0
_PROFILING_DIR = Path(__file__).resolve().parent / "profiling"


class BodyFile(Sequence[bytes]):
    """A slice of the request bodies stored in a file, read on demand (``os.pread``)."""

    def __init__(self, path: Path, spans: list[tuple[int, int]]) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        self._spans = spans

    def __len__(self) -> int:
        return len(self._spans)

    def __getitem__(self, index: int) -> bytes:  # type: ignore[override]
        offset, length = self._spans[index]
        return os.pread(self._fd, length, offset)

    def __iter__(self) -> Iterator[bytes]:
        return (self[i] for i in range(len(self)))


def text_pool(rng: random.Random, count: int = _TEXT_POOL, size: int = _TEXT_BYTES) -> list[str]:
    """``count`` texts of ``size`` characters of random words (so Parquet does not compress
    them unrealistically well); reads_at_scale.py uses it too."""
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(3000)]
    pool = []
    for _ in range(count):
        parts: list[str] = []
        length = 0
        while length < size:
            parts.append(rng.choice(words))
            length += len(parts[-1]) + 1
        pool.append(" ".join(parts)[:size])
    return pool


def build_bodies(path: Path, requests: int, traces_per_request: int) -> list[tuple[int, int]]:
    """Write ``requests`` serialized export requests (or reuse a file holding at least that
    many: its first ones are sent); return their (offset, length)."""
    if path.exists() and path.stat().st_size < requests * traces_per_request * SPANS_PER_TRACE * _TEXT_BYTES:
        path.unlink()  # too few bodies: build them all again
    if not path.exists():
        rng = random.Random(15)
        pool = text_pool(rng)
        began = time.perf_counter()
        partial = path.with_suffix(".partial")
        with partial.open("wb") as out:
            start = time.time_ns() - requests * traces_per_request * 1000
            for number in range(requests):
                body = genai_trace_request(
                    traces_per_request,
                    start_unix_nano=start + number * traces_per_request * 1000,
                    texts=rng.sample(pool, 2 * traces_per_request),
                ).SerializeToString()
                out.write(_LENGTH.pack(len(body)) + body)
        partial.rename(path)
        print(f"built {requests} bodies in {time.perf_counter() - began:.0f} s -> {path}", flush=True)
    spans = []
    with path.open("rb") as handle:
        offset = 0
        while len(spans) < requests and (header := handle.read(_LENGTH.size)):
            (length,) = _LENGTH.unpack(header)
            spans.append((offset + _LENGTH.size, length))
            offset += _LENGTH.size + length
            handle.seek(offset)
    if len(spans) != requests:
        raise SystemExit(f"{path} holds {len(spans)} bodies, not {requests}; delete it to rebuild.")
    return spans


def cpu_seconds(pid: int, *, exited_children: bool = False) -> float:
    """User + system CPU time a process has used so far (all its threads); with
    ``exited_children`` also that of its children that ended and were waited for."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if exited_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    """The live child processes of ``pid`` (the compaction process, while it runs)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.extend(int(number) for number in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def family_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and all its children, those still running included."""
    total = cpu_seconds(pid, exited_children=True)
    for child in child_pids(pid):
        try:
            total += cpu_seconds(child, exited_children=True)
        except OSError:  # it just ended (then it is counted once the collector waited for it)
            continue
    return total


def pss_mb(pid: int) -> float:
    """Proportional set size of a process in MB: pages shared with others count in part."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mb(pid: int) -> tuple[float, float, float]:
    """Resident memory of a process in MB: all (VmRSS), anonymous (the heap) and file-backed
    (shared libraries, mapped files)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            found[name] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["RssAnon"], found["RssFile"]


class RssSampler:
    """Samples a process's RSS every 0.1 s in a thread until stopped; every 0.5 s also its
    children's peak RSS and the summed PSS of the process and its children."""

    def __init__(self, pid: int) -> None:
        self.samples: list[tuple[float, float, float]] = []
        self.children_peak_mb = 0.0  # the largest VmHWM of a child seen
        self.family_pss_mb: list[float] = []
        self._pid = pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        tick = 0
        while not self._stop.wait(0.1):
            try:
                self.samples.append(rss_mb(self._pid))
                if tick % 5 == 0:
                    self._sample_family()
            except (FileNotFoundError, ProcessLookupError, ValueError, KeyError):
                return
            tick += 1

    def _sample_family(self) -> None:
        total = pss_mb(self._pid)
        for child in child_pids(self._pid):
            try:
                total += pss_mb(child)
                self.children_peak_mb = max(self.children_peak_mb, peak_rss_mb(child))
            except OSError:  # it ended between the listing and the reading
                continue
        self.family_pss_mb.append(total)

    def stop(self) -> list[tuple[float, float, float]]:
        """Stop sampling and return the samples."""
        self._stop.set()
        self._thread.join()
        return self.samples


def wait_visible(data_dir: Path, expected: int) -> tuple[float, int]:
    """Seconds until ``count(*) FROM spans`` reaches ``expected`` (polled every 0.2 s) and the
    last count seen."""
    began = time.perf_counter()
    seen = -1
    while time.perf_counter() - began < _VISIBILITY_TIMEOUT:
        try:
            connection = connect(data_dir)
        except duckdb.IOException:  # a compaction moved a file the manifest just listed
            time.sleep(0.05)
            continue
        try:
            seen = connection.sql("SELECT count(*) FROM spans").fetchall()[0][0]
        except duckdb.IOException:
            continue
        finally:
            connection.close()
        if seen >= expected:
            return time.perf_counter() - began, seen
        time.sleep(0.2)
    return float("inf"), seen


def _levels(data_dir: Path) -> str:
    """Live span files per level (shows whether the compactor ran)."""
    counts: dict[int, int] = {}
    for data_file in read_manifest(data_dir).files["spans"]:
        counts[data_file.level] = counts.get(data_file.level, 0) + 1
    return ", ".join(f"L{level}: {count}" for level, count in sorted(counts.items())) or "none"


_COMPACTED = re.compile(r"Compacted (\d+) spans files into (\d+) level-(\d+) files \((\d+) rows\)")


def merged_spans(log_text: str) -> dict[int, int]:
    """Spans written by compaction's merges, per level written, from the collector's log."""
    written: dict[int, int] = {}
    for match in _COMPACTED.finditer(log_text):
        level, rows = int(match.group(3)), int(match.group(4))
        written[level] = written.get(level, 0) + rows
    return written


def _row(what: str, measured: str, goal: str, baseline: str = "", ratio: str = "") -> None:
    print(f"{what:<34}{measured:>14}{goal:>14}{baseline:>14}{ratio:>9}")


def main() -> int:
    """Run the benchmark and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--traces-per-request", type=int, default=100)
    parser.add_argument("--bodies", type=Path, help="body file (default: one per size in the temp dir)")
    parser.add_argument("--skip-sink", action="store_true", help="no baseline run (for profiling)")
    parser.add_argument("--collector-arg", action="append", default=[], help="extra argument for otel-feedback serve")
    parser.add_argument(
        "--collector-pythonpath",
        help="PYTHONPATH for the collector only: compare against another checkout (a folder holding "
        "otel_feedback_collector, otel_feedback and otel_feedback_core)",
    )
    args = parser.parse_args()

    spans_per_request = args.traces_per_request * SPANS_PER_TRACE
    requests = -(-args.spans // spans_per_request)
    requests += -requests % args.senders  # an equal share per sender
    body_path = args.bodies or Path(tempfile.gettempdir()) / f"otel-feedback-bench-x{args.traces_per_request}.bodies"
    print(f"{requests} requests of {spans_per_request} spans, {args.senders} senders; bodies in {body_path}", flush=True)
    spans = build_bodies(body_path, requests, args.traces_per_request)
    shares = [BodyFile(body_path, spans[i :: args.senders]) for i in range(args.senders)]
    body_kb = sum(length for _, length in spans) / len(spans) / 1024
    # The sink reads the same bodies (warming the page cache for the collector's run too).
    sink_rate = float("nan") if args.skip_sink else measure_sink(shares, spans_per_request)

    env = {}
    paths = [args.collector_pythonpath, os.environ.get("PYTHONPATH")]
    if os.environ.get("OTEL_FEEDBACK_PROFILE"):
        paths.insert(0, str(_PROFILING_DIR))
    if any(paths):
        env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="otel-feedback-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        log_path = Path(tmp) / "collector.log"
        with log_path.open("wb") as log:
            collector = CollectorProcess(
                data_dir, args=["--grpc-port", "-1", "--log-level", "INFO", *args.collector_arg], env=env, log_file=log
            )
            collector.start()
            sampler = RssSampler(collector.pid)
            watcher, lifetime_peak = watch_peak_rss(collector.pid)
            try:
                elapsed, results = send_all(f"{collector.http_url}/v1/traces", shares, spans_per_request)
                acked = sum(r.acked_spans for r in results)
                visible_after, seen = wait_visible(data_dir, acked)
                cpu = family_cpu_seconds(collector.pid)
                own_cpu = cpu_seconds(collector.pid)
                rss = sampler.stop()
                levels = _levels(data_dir)
            finally:
                sampler.stop()
                exit_code = collector.stop(timeout=120)
                watcher.join(timeout=5)
        stored = connect(data_dir).sql("SELECT count(*) FROM spans").fetchall()[0][0]
        log_text = log_path.read_text(errors="replace")
        log_tail = log_text[-3000:]
        merged = merged_spans(log_text)

    latencies = [lat for r in results for lat in r.latencies]
    errors = retried_answers(results)
    rate = acked / elapsed
    print(f"\n{requests} requests x {spans_per_request} spans ({body_kb:.0f} KB each), {args.senders} senders, "
          f"{os.cpu_count()} cores; compactor on (live span files at the end: {levels})")
    _row("", "measured", "goal", "sink", "ratio")
    _row("sustained durable spans/s", f"{rate:,.0f}", ">= 40,000", f"{sink_rate:,.0f}", f"{rate / sink_rate:.2f}")
    _row("visible after last ack (s)", f"{visible_after:.1f}", "<= 10", "", "")
    total = [sample[0] for sample in rss]
    _row("collector RSS peak (MB)", f"{max(total):.0f}", "<= 300", "", "")
    _row("collector RSS p95 (MB)", f"{percentile(total, 0.95):.0f}", "", "", "")
    _row("  peak anonymous / file-backed", f"{max(s[1] for s in rss):.0f} / {max(s[2] for s in rss):.0f}", "", "", "")
    _row("  lifetime peak incl. stop (MB)", f"{lifetime_peak[-1]:.0f}", "", "", "")
    _row("compaction process RSS peak (MB)", f"{sampler.children_peak_mb:.0f}", "", "", "")
    _row("collector + children PSS peak (MB)", f"{max(sampler.family_pss_mb, default=float('nan')):.0f}", "", "", "")
    _row("CPU per span incl. children (us)", f"{cpu / acked * 1e6:.0f}", "", "", "")
    _row("  collector / compaction process", f"{own_cpu / acked * 1e6:.0f} / {(cpu - own_cpu) / acked * 1e6:.0f}", "", "", "")
    _row("write amplification (merges)", f"{sum(merged.values()) / acked:.2f}", "", "", "")
    _row("  spans written per level", " / ".join(f"L{k} {v / acked:.2f}" for k, v in sorted(merged.items())), "", "", "")
    _row("ack latency p50 / p99 (ms)", f"{percentile(latencies, 0.5) * 1000:.0f} / {percentile(latencies, 0.99) * 1000:.0f}", "", "", "")
    print(f"(load average {load_at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} "
          "cores: spans/s and seconds are wall-clock and shrink or grow with what else runs; CPU = user + system "
          "time of the collector and its children from start until all spans were visible, the figure the load "
          "skews least)")
    print(f"(RSS sampled every 0.1 s from start until all spans were visible: {len(rss)} samples; "
          "ratio = collector/sink)")
    print(f"retried answers: {errors or 'none'}")
    print(f"stored after stop: {stored:,} of {acked:,} acknowledged (visible count {seen:,}; exit code {exit_code})")
    if stored != acked or exit_code != 0 or seen != acked:
        print("collector log tail:\n" + log_tail)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
