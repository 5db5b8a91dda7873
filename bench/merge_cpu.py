"""CPU and peak memory of one compaction merge, measured in the merge child itself.

Builds a data directory of flushed (level-0) span files the way the collector's writer does
under load (GenAI-shaped traces as in ``ingest_1m.py``, a few requests per flush), then runs
merges of them through ``MergeWorker`` (the collector's own child process) and reads the
child's CPU time (user + system, ``/proc/<pid>/stat``) before and after each merge, and its
peak RSS (VmHWM). The same child runs the merge ``--repeat`` times (each writes new pending
files, deleted afterwards), so start-up (importing pyarrow and DuckDB) is reported apart.

To compare two checkouts on the very same files, build once with ``--keep DIR`` and run the
other checkout's child with ``--child-pythonpath`` (a folder holding ``otel_feedback_collector``,
``otel_feedback`` and ``otel_feedback_core``):

    .venv/bin/python bench/merge_cpu.py --keep /tmp/merge-bench
    .venv/bin/python bench/merge_cpu.py --keep /tmp/merge-bench --child-pythonpath /tmp/base

CPU time is the figure the machine's load skews least; wall-clock is printed for reference.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import peak_rss_mb  # noqa: E402
from ingest_1m import cpu_seconds, text_pool  # noqa: E402

from otel_feedback_collector.otlp.synthetic import genai_trace_request  # noqa: E402
from otel_feedback_collector.storage import SpanStore  # noqa: E402
from otel_feedback_collector.storage.datasets import pending_file  # noqa: E402
from otel_feedback_collector.storage.manifest import read_manifest  # noqa: E402
from otel_feedback_collector.storage.merge_worker import MergeRequest, MergeWorker  # noqa: E402
from otel_feedback_collector.storage.store import _MERGE_ROW_GROUP_BYTES  # noqa: E402


def build(data_dir: Path, *, files: int, requests_per_file: int, traces_per_request: int, fan_in: int) -> None:
    """Write ``files`` flushes of ``requests_per_file`` export requests each, compacted after
    each flush with ``fan_in`` (0: no compaction, every file stays at level 0)."""
    rng = random.Random(15)
    pool = text_pool(rng)
    start = time.time_ns()
    with SpanStore(data_dir, compaction_fan_in=fan_in or 1_000_000) as store:
        for number in range(files * requests_per_file):
            store.write_traces(
                genai_trace_request(
                    traces_per_request,
                    start_unix_nano=start + number * traces_per_request * 1000,
                    texts=rng.sample(pool, 2 * traces_per_request),
                )
            )
            if number % requests_per_file == requests_per_file - 1:
                store.flush()
                while fan_in and store.compact():
                    pass


def main() -> int:
    """Build (or reuse) the flushed files, merge them, print CPU per span and peak RSS."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=16, help="flushed files (runs at --level) to merge")
    parser.add_argument("--level", type=int, default=0, help="merge the runs of this level")
    parser.add_argument(
        "--row-group-mb", type=float, default=_MERGE_ROW_GROUP_BYTES / 1024 / 1024,
        help="output row groups' uncompressed size (default: the collector's)",
    )
    parser.add_argument("--build-flushes", type=int, help="flushes to build (default --files; with --level 1: "
                        "16 x --files, compacted with fan-in 16)")
    parser.add_argument("--requests-per-file", type=int, default=8)
    parser.add_argument("--traces-per-request", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="merges in the same child")
    parser.add_argument("--keep", type=Path, help="data directory to build once and reuse (else a temporary one)")
    parser.add_argument("--child-pythonpath", help="PYTHONPATH of the merge child (another checkout)")
    parser.add_argument("--input-budget-mb", type=float, default=16.0)
    parser.add_argument("--max-fan-in", type=int, default=16)
    args = parser.parse_args()

    data_dir = args.keep or Path(f"/tmp/merge-cpu-{os.getpid()}")
    if not (data_dir / "manifest.json").exists():
        began = time.perf_counter()
        flushes = args.build_flushes or (args.files if args.level == 0 else 16 * args.files)
        build(data_dir, files=flushes, requests_per_file=args.requests_per_file,
              traces_per_request=args.traces_per_request, fan_in=16 if args.level else 0)
        print(f"built {args.files} flushed files in {time.perf_counter() - began:.0f} s -> {data_dir}")
    if args.child_pythonpath:
        os.environ["PYTHONPATH"] = args.child_pythonpath
    manifest = read_manifest(data_dir)
    runs = sorted({f.run for f in manifest.files["spans"] if f.level == args.level})[: args.files]
    inputs = [f for f in manifest.files["spans"] if f.level == args.level and f.run in runs]
    spans = sum(f.rows for f in inputs)
    input_bytes = sum((data_dir / f.path).stat().st_size for f in inputs)
    print(f"{len(inputs)} level-{args.level} files ({len(runs)} runs), {spans:,} spans, {input_bytes / 1e6:.0f} MB; "
          f"load average {os.getloadavg()[0]:.1f}")
    scratch = data_dir / "tmp" / "merge"
    worker = MergeWorker(data_dir, scratch)
    numbers = iter(range(10_000_000, 20_000_000))
    try:
        before = 0.0
        for attempt in range(args.repeat):
            request = MergeRequest(
                dataset="spans", inputs=inputs, level=args.level + 1, run=next(numbers),
                numbers=[next(numbers) for _ in range(64)], row_group_size=16384,
                file_bytes=64 * 1024 * 1024, row_group_bytes=int(args.row_group_mb * 1024 * 1024),
                input_budget_bytes=int(args.input_budget_mb * 1024 * 1024), max_fan_in=args.max_fan_in,
                partition_bytes=16 * 1024 * 1024, memory_limit="64MB",
            )
            wall = time.perf_counter()
            merged, _ = worker.merge(request)
            wall = time.perf_counter() - wall
            assert worker.pid is not None
            cpu = cpu_seconds(worker.pid)
            written = sum(pending_file(data_dir, f.path).stat().st_size for f in merged)
            label = "first (start-up included)" if attempt == 0 else "again, same child"
            print(f"merge {attempt + 1} {label:<26} CPU {(cpu - before) / spans * 1e6:6.1f} us/span  "
                  f"wall {wall:5.1f} s  rows {sum(f.rows for f in merged):,}  out {written / 1e6:.0f} MB  "
                  f"child peak RSS {peak_rss_mb(worker.pid):.0f} MB")
            before = cpu
            worker.discard_outputs(request)
    finally:
        worker.stop()
        if args.keep is None:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
