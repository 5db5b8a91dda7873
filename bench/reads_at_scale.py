"""Reads at scale: fill a real collector through OTLP, then time what a user waits for.

Starts ``otel-feedback serve`` on loopback, sends ``--spans`` spans (default 1,000,000) as
GenAI-shaped traces (a CHAIN root, a RETRIEVER and an LLM span, ~1.5 KB of text each) from 4
sender processes over OTLP/HTTP protobuf, 100 traces per request, with user feedback on one
trace in ten sent as ``gen_ai.evaluation.result`` log records. Then it times, through HTTP (the
median of ``--samples`` calls each):

* ``GET /api/v1/traces?max_results=50`` (the newest 50), goal 100 ms;
* ``GET /api/v1/traces/{id}`` for random ids, goal 50 ms;
* ``GET /api/v1/traces?filter=assessments.user_feedback = false``, goal 200 ms;
* the UI traces table (``/experiments/bench``), goal 300 ms; the UI trace page, goal 100 ms,
  and the span list that page loads next (``/ui/api/traces/{id}/spans``), goal 100 ms.

The baseline, measured in the same run over the same files: a plain DuckDB connection reading
``spans/*.parquet`` (the lookup by id and the newest 50 by root start time). The ratio column is
endpoint time / baseline time: how much the serving path adds (or saves) over reading Parquet.

Usage: ``python bench/reads_at_scale.py [--spans N] [--data DIR] [--reuse | --add] [--samples N]
[--warm-up S] [--collector-pythonpath DIR]``;
``--data DIR --reuse`` times an existing directory filled by an earlier run; ``--data DIR --add``
sends N more spans (new trace ids) into it first: the ingest figures (RSS, CPU per span) at the
size already stored, without filling ten million spans again; ``--warm-up S`` waits S seconds
before timing (what a collector that has been running answers).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb  # noqa: E402
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue  # noqa: E402

from ingest_1m import RssSampler, family_cpu_seconds, text_pool  # noqa: E402
from otel_feedback_collector.server import CollectorProcess  # noqa: E402
from otel_feedback_core import wire  # noqa: E402

TRACES_PER_REQUEST = 100
SENDERS = 4
EXPERIMENT = "bench"
GOALS_MS = {
    "REST newest 50 traces": 100.0,
    "REST one trace by id": 50.0,
    "REST search, assessment filter": 200.0,
    "UI traces table": 300.0,
    "UI trace page": 100.0,
    "UI trace page's span list (JSON)": 100.0,
}


def _kv(key: str, value: str | int | bool) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def build_requests(rng: random.Random, texts: list[str], start_ns: int) -> tuple[bytes, bytes, list[bytes]]:
    """One traces request (100 three-span traces), its feedback logs request, its trace ids."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend([_kv("service.name", "bench-app")])
    scope = resource_spans.scope_spans.add()
    scope.scope.name = "bench"
    logs = ExportLogsServiceRequest()
    log_scope = logs.resource_logs.add().scope_logs.add()
    trace_ids = []
    for index in range(TRACES_PER_REQUEST):
        trace_id = rng.randbytes(16)
        trace_ids.append(trace_id)
        root_id = rng.randbytes(8)
        begin = start_ns + index * 1000
        for position, kind in enumerate(("CHAIN", "RETRIEVER", "LLM")):
            span = scope.spans.add(
                trace_id=trace_id,
                span_id=root_id if position == 0 else rng.randbytes(8),
                name=("answer", "retrieve", "chat gpt-4o-mini")[position],
                kind=1 if position < 2 else 3,
                start_time_unix_nano=begin + position,
                end_time_unix_nano=begin + 5_000_000,
            )
            attributes = [
                _kv(wire.SPAN_KIND, kind),
                _kv(wire.INPUT_VALUE, rng.choice(texts)),
                _kv(wire.OUTPUT_VALUE, rng.choice(texts)),
            ]
            if position:
                span.parent_span_id = root_id
            else:
                attributes += [_kv(wire.EXPERIMENT, EXPERIMENT), _kv(wire.SESSION_ID, f"session-{rng.randint(1, 1000)}")]
            if kind == "LLM":
                attributes += [
                    _kv("gen_ai.operation.name", "chat"),
                    _kv("gen_ai.request.model", "gpt-4o-mini"),
                    _kv("gen_ai.usage.input_tokens", rng.randint(100, 900)),
                    _kv("gen_ai.usage.output_tokens", rng.randint(10, 300)),
                ]
            span.attributes.extend(attributes)
        if index % 10 == 0:
            record = log_scope.log_records.add(trace_id=trace_id, span_id=root_id, time_unix_nano=begin + 10_000_000)
            record.event_name = wire.EVALUATION_EVENT
            record.attributes.extend(
                [
                    _kv(wire.EVALUATION_NAME, "user_feedback"),
                    _kv(wire.ASSESSMENT_VALUE, "true" if rng.random() < 0.7 else "false"),
                    _kv(wire.ASSESSMENT_SOURCE_TYPE, "HUMAN"),
                    _kv(wire.ASSESSMENT_SOURCE_ID, f"user-{rng.randint(1, 50)}"),
                ]
            )
    return request.SerializeToString(), logs.SerializeToString(), trace_ids


def _post(url: str, body: bytes) -> None:
    """POST an OTLP body, backing off on 429/503 like an exporter does."""
    for _ in range(1000):
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/x-protobuf"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()
                return
        except urllib.error.HTTPError as error:
            if error.code not in (429, 503):
                raise
            time.sleep(float(error.headers.get("Retry-After") or 1) / 4)
    raise RuntimeError(f"{url} kept refusing the export")


def _sender(base_url: str, seed: int, requests: int, start_ns: int, sample_out: multiprocessing.Queue) -> None:
    rng = random.Random(seed)
    texts = text_pool(rng, 2000, 500)
    sample: list[str] = []
    for number in range(requests):
        traces, logs, trace_ids = build_requests(rng, texts, start_ns + (number * SENDERS + seed % SENDERS) * TRACES_PER_REQUEST * 1000)
        _post(base_url + "/v1/traces", traces)
        _post(base_url + "/v1/logs", logs)
        if number % 20 == 0:
            sample.append(trace_ids[rng.randrange(TRACES_PER_REQUEST)].hex())
    sample_out.put(sample)


def fill(base_url: str, spans: int, first_seed: int = 0) -> tuple[float, list[str]]:
    """Send ``spans`` spans from SENDERS processes (seeded ``first_seed`` on: other seeds give
    other trace ids); return (seconds, sample trace ids)."""
    requests_total = max(SENDERS, spans // (TRACES_PER_REQUEST * 3))
    per_sender = requests_total // SENDERS
    start_ns = time.time_ns() - requests_total * TRACES_PER_REQUEST * 1000
    queue: multiprocessing.Queue = multiprocessing.Queue()
    began = time.perf_counter()
    workers = [
        multiprocessing.Process(target=_sender, args=(base_url, seed, per_sender, start_ns, queue)) for seed in range(first_seed, first_seed + SENDERS)
    ]
    for worker in workers:
        worker.start()
    sample = [trace_id for _ in workers for trace_id in queue.get()]
    for worker in workers:
        worker.join()
        if worker.exitcode:
            raise RuntimeError("a sender failed; see above")
    return time.perf_counter() - began, sample


def _get(url: str) -> tuple[float, bytes]:
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        body = response.read()
    return (time.perf_counter() - began) * 1000, body


def data_layout(data_dir: Path) -> str:
    """The live file count per dataset (and the span files' levels) from the manifest, and the
    size of the trace index: what read times depend on besides the row count."""
    manifest = json.loads((data_dir / "manifest.json").read_text())
    counts = {name: len(files) for name, files in manifest["datasets"].items()}
    levels: dict[int, int] = {}
    for data_file in manifest["datasets"]["spans"]:
        levels[data_file["level"]] = levels.get(data_file["level"], 0) + 1
    index = data_dir / "trace_index.duckdb"
    index_mb = index.stat().st_size / 1e6 if index.exists() else 0.0
    by_level = ", ".join(f"L{level}: {count}" for level, count in sorted(levels.items()))
    return (
        f"live files: {counts.get('spans', 0)} span files ({by_level}), "
        f"{counts.get('trace_summaries', 0)} summary files, {counts.get('assessments', 0)} assessment files; "
        f"trace_index.duckdb {index_mb:,.0f} MB"
    )


def time_endpoints(base_url: str, sample: list[str], samples: int) -> dict[str, tuple[float, float]]:
    """Median milliseconds of each endpoint (first call of each not counted: warm-up), with
    the 1-minute load average after it (the machine may be shared: compare ratios)."""
    rng = random.Random(7)
    api = base_url + "/api/v1"
    feedback_filter = urllib.parse.quote("assessments.user_feedback = false")
    calls = {
        "REST newest 50 traces": lambda: f"{api}/traces?max_results=50",
        "REST one trace by id": lambda: f"{api}/traces/{rng.choice(sample)}",
        "REST search, assessment filter": lambda: f"{api}/traces?max_results=50&filter={feedback_filter}",
        "UI traces table": lambda: f"{base_url}/experiments/{EXPERIMENT}",
        "UI trace page": lambda: f"{base_url}/traces/{rng.choice(sample)}",
        "UI trace page's span list (JSON)": lambda: f"{base_url}/ui/api/traces/{rng.choice(sample)}/spans",
    }
    results = {}
    for name, url in calls.items():
        _get(url())
        times = [_get(url())[0] for _ in range(samples)]
        results[name] = (statistics.median(times), os.getloadavg()[0])
    newest = json.loads(_get(f"{api}/traces?max_results=50")[1])["traces"]
    assert len(newest) == 50, f"newest-50 answered {len(newest)} traces"
    found = json.loads(_get(f"{api}/traces?max_results=50&filter={feedback_filter}")[1])["traces"]
    assert found and all(t["assessments"].get("user_feedback") is False for t in found), "filter answered wrong rows"
    one = json.loads(_get(f"{api}/traces/{sample[0]}")[1])
    assert len(one["spans"]) == 3, f"trace {sample[0]} has {len(one['spans'])} spans"
    return results


def time_plain_duckdb(data_dir: Path, sample: list[str], samples: int) -> dict[str, float]:
    """The baseline: the same two reads through a plain DuckDB connection over the files."""
    rng = random.Random(7)
    spans = f"read_parquet('{data_dir}/spans/*.parquet')"
    connection = duckdb.connect()
    connection.execute("SET parquet_metadata_cache = true")
    queries = {
        "REST one trace by id": (f"SELECT * FROM {spans} WHERE trace_id = ?", lambda: [rng.choice(sample)]),
        "REST newest 50 traces": (
            f"SELECT trace_id, name, start_time_unix_nano FROM {spans} WHERE parent_span_id IS NULL "
            "ORDER BY start_time_unix_nano DESC LIMIT 50",
            lambda: [],
        ),
    }
    results = {}
    for name, (sql, params) in queries.items():
        connection.execute(sql, params()).fetchall()
        times = []
        for _ in range(samples):
            began = time.perf_counter()
            connection.execute(sql, params()).fetchall()
            times.append((time.perf_counter() - began) * 1000)
        results[name] = statistics.median(times)
    connection.close()
    return results


def _trace_count(base_url: str) -> int:
    """The bench's traces the collector lists."""
    experiments = json.loads(_get(f"{base_url}/api/v1/experiments")[1])["experiments"]
    return sum(e["trace_count"] for e in experiments if e["name"] == EXPERIMENT)


def wait_visible(base_url: str, expected_spans: int, timeout: float = 600) -> float:
    """Seconds until the newest-traces listing counts every span (after the last ack)."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        if _trace_count(base_url) * 3 >= expected_spans:
            return time.perf_counter() - began
        time.sleep(0.2)
    raise RuntimeError(f"not all spans visible after {timeout} s")


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--data", help="data directory to fill (kept); default: a temporary one, removed")
    parser.add_argument("--reuse", action="store_true", help="time --data as it is, without sending")
    parser.add_argument(
        "--add",
        action="store_true",
        help="send --spans more spans (other trace ids) into a filled --data, then time it: ingest "
        "figures (RSS, CPU per span) at the size already there",
    )
    parser.add_argument("--samples", type=int, default=11)
    parser.add_argument(
        "--warm-up",
        type=float,
        default=0.0,
        help="seconds to wait before timing (a restarted collector learns its files' trace numbers "
        "and caches footers in the background: the figures of a collector that has been running)",
    )
    parser.add_argument(
        "--collector-pythonpath",
        help="PYTHONPATH for the collector only: time another checkout on the same directory (a folder "
        "holding otel_feedback_collector, otel_feedback and otel_feedback_core), as in ingest_1m.py",
    )
    args = parser.parse_args()
    if args.reuse and args.add:
        parser.error("--reuse times a directory as it is; --add sends more spans into it first: give one")
    filled = bool(args.data) and (Path(args.data) / "bench-sample.json").exists()
    if (args.reuse or args.add) and not filled:
        parser.error("--reuse and --add need --data DIR filled by an earlier run of this bench (its bench-sample.json)")
    if filled and not (args.reuse or args.add):
        # The senders' seeds would repeat that run's trace ids: a second fill of the same traces.
        parser.error(f"{args.data} is filled already: time it with --reuse, or add spans with --add")
    data_dir = Path(args.data or tempfile.mkdtemp(prefix="otel-feedback-reads-")).resolve()
    paths = [args.collector_pythonpath, os.environ.get("PYTHONPATH")]
    env = {"PYTHONPATH": os.pathsep.join(filter(None, paths))} if any(paths) else None
    collector = CollectorProcess(data_dir, args=["--grpc-port", "-1", "--log-level", "WARNING"], env=env).start()
    try:
        sample_file = data_dir / "bench-sample.json"
        if args.reuse:
            sample = json.loads(sample_file.read_text())
        else:
            # The collector's memory while it ingests, its compaction process's too (the
            # samples of ingest_1m.py: RSS every 0.1 s, summed PSS of the family every 0.5 s).
            sampler = RssSampler(collector.pid)
            cpu_before = family_cpu_seconds(collector.pid)
            load_before = os.getloadavg()[0]
            earlier: list[str] = json.loads(sample_file.read_text()) if args.add else []
            stored = _trace_count(collector.http_url) * 3 if args.add else 0
            seconds, sample = fill(collector.http_url, args.spans, first_seed=SENDERS + stored)
            sent = (max(SENDERS, args.spans // 300) // SENDERS) * SENDERS * 300
            print(f"sent {sent:,} spans in {seconds:.1f} s: {sent / seconds:,.0f} spans/s (4 senders on the same machine; "
                  f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)")
            # The writer may trail a long fill by minutes on a loaded machine: wait long enough.
            visible = wait_visible(collector.http_url, stored + sent, timeout=max(600.0, sent / 5000))
            cpu = family_cpu_seconds(collector.pid) - cpu_before
            rss = sampler.stop()
            print(f"visible {visible:.1f} s after the last acknowledgement")
            print(f"collector peak RSS while ingesting: {max(r[0] for r in rss):.0f} MB (goal ≤ 300 MB); "
                  f"compaction process peak {sampler.children_peak_mb:.0f} MB; summed PSS of both, peak "
                  f"{max(sampler.family_pss_mb, default=float('nan')):.0f} MB")
            print(f"CPU of the collector and its compaction process: {cpu / sent * 1e6:.0f} us per span")
            print(f"at visibility: {data_layout(data_dir)}")
            sample = earlier + sample
            sample_file.write_text(json.dumps(sample))
        if args.warm_up > 0:
            print(f"warming up for {args.warm_up:.0f} s")
            time.sleep(args.warm_up)
        print(f"collector RSS now: {_rss_mb(collector.pid):.0f} MB")
        print(data_layout(data_dir))
        served = time_endpoints(collector.http_url, sample, args.samples)
        print(f"after timing: {data_layout(data_dir)}")
    finally:
        collector.stop()
    baseline = time_plain_duckdb(data_dir, sample, args.samples)
    print(f"\n{'what (median of ' + str(args.samples) + ')':<36}{'ms':>9}{'goal':>9}{'plain DuckDB':>14}{'ratio':>8}{'load':>7}")
    for name, (milliseconds, load) in served.items():
        base = baseline.get(name)
        base_text = f"{base:.1f}" if base else ""
        ratio = f"{milliseconds / base:.2f}x" if base else ""
        print(f"{name:<36}{milliseconds:>9.1f}{'≤ ' + format(GOALS_MS[name], '.0f'):>9}{base_text:>14}{ratio:>8}{load:>7.1f}")
    print("(ratio = endpoint / plain DuckDB over spans/*.parquet, same files, same run;")
    print(" load = 1-minute load average after the endpoint's samples)")
    if not args.data:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
