"""CPU per span of the collector's writer thread (the flush), step by step.

The writer thread is serial and holds the GIL most of the time, so its CPU per span bounds
sustained ingest. This runs a real ``SpanStore`` (data directory in the temp folder, compaction
off so nothing else runs in the process) on the bodies of bench/ingest_1m.py: ``--warm-spans``
are stored first (the trace index then holds that many traces), then ``--spans`` are written
and flushed ``--flush-mb`` at a time, as the writer does under load. It prints the writer
thread's CPU microseconds per span (``pthread_getcpuclockid``: other processes' load does not
count), split by step (each step's thread CPU time, the store's methods wrapped by name; a step
a checkout does not have is left out, "other" is the rest), and the CPU of the whole process
but the sender's writes into the WAL, up to the end of ``close()`` (DuckDB's worker threads
count there: the trace index's checkpoints run in them), next to a baseline measured in the
same run: protobuf ``ParseFromString`` of the same bodies.

``--checkout DIR`` (repeatable) runs the same measurement on other checkouts (a folder holding
``otel_feedback_collector``, ``otel_feedback`` and ``otel_feedback_core``, as for
``bench/ingest_1m.py --collector-pythonpath``), each in its own process, taking turns
``--rounds`` times; the best round of each is shown side by side:

    .venv/bin/python bench/flush_cpu.py [--spans 120000] [--checkout /tmp/main-checkout]

``--python-conversion`` adds a column: this checkout with its C conversion turned off
(``OTEL_FEEDBACK_NATIVE_INGEST=0``), the baseline of the extension's gain.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import SPANS_PER_TRACE  # noqa: E402
from ingest_1m import BodyFile, build_bodies  # noqa: E402

_TRACES_PER_REQUEST = 100
# The flush's steps, by the method that does each: (label, class path, method name).
_STEPS = (
    ("convert (OTLP to span rows)", "store.SpanStore", "_convert_record"),
    ("summarize chunk", "store.SpanStore", "_summarize"),
    ("drop stored spans + note roots", "store.SpanStore", "_drop_stored_spans"),
    ("write level-0 files", "store.SpanStore", "_write_level0_file"),
    ("merge chunk summaries", "trace_summaries.SummaryCalculator", "merge"),
    ("index add", "live_reads.LiveReads", "add"),
)
_BASELINE = "ParseFromString (baseline)"
_PROCESS = "process, but the sender's writes"


def _writer_thread() -> threading.Thread:
    for thread in threading.enumerate():
        if thread.name == "otel-feedback-writer":
            return thread
    raise SystemExit("The store has no writer thread named otel-feedback-writer.")


def _thread_cpu(thread: threading.Thread) -> float:
    assert thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def _wrap_steps(spent: dict[str, float]) -> None:
    """Wrap each step's method so its thread CPU time adds up in ``spent`` (outermost call
    only: a step calling itself is counted once)."""
    for label, class_path, method in _STEPS:
        module_name, class_name = class_path.rsplit(".", 1)
        owner = getattr(importlib.import_module(f"otel_feedback_collector.storage.{module_name}"), class_name)
        original = getattr(owner, method, None)
        if original is None:
            continue
        spent[label] = 0.0
        depth = threading.local()

        def timed(*args: Any, __original: Callable[..., Any] = original, __label: str = label,
                  __depth: threading.local = depth, **kwargs: Any) -> Any:
            if getattr(__depth, "level", 0):
                return __original(*args, **kwargs)
            __depth.level = 1
            began = time.thread_time()
            try:
                return __original(*args, **kwargs)
            finally:
                spent[__label] += time.thread_time() - began
                __depth.level = 0

        setattr(owner, method, functools.wraps(original)(timed))


def measure(bodies: Sequence[bytes], *, warm: int, flush_bytes: int) -> dict[str, float]:
    """One run in this process: CPU microseconds per span by step, and in total."""
    from otel_feedback_collector.storage import SpanStore

    spent: dict[str, float] = {}
    _wrap_steps(spent)
    requests = [ExportTraceServiceRequest.FromString(body) for body in bodies]
    spans = len(requests[warm:]) * _TRACES_PER_REQUEST * SPANS_PER_TRACE
    began = time.thread_time()
    for body in bodies[warm:]:
        ExportTraceServiceRequest().ParseFromString(body)
    baseline = time.thread_time() - began
    with tempfile.TemporaryDirectory(prefix="otel-feedback-flush-cpu-") as tmp:
        store = SpanStore(Path(tmp) / "data", flush_interval=3600.0, compaction_fan_in=1_000_000)
        store.open()
        try:
            writer = _writer_thread()
            start = _thread_cpu(writer)
            start_process, sending = time.process_time(), 0.0
            batch = 0
            for number, (body, request) in enumerate(zip(bodies, requests)):
                began = time.thread_time()
                store.write_traces(request, serialized=body)
                sending += time.thread_time() - began
                batch += len(body)
                if batch < flush_bytes and number + 1 not in (warm, len(requests)):
                    continue
                store.flush()  # (the writer may have started on its own: 16 MB are pending)
                batch = 0
                if number + 1 == warm:  # the warm-up does not count
                    spent.update(dict.fromkeys(spent, 0.0))
                    start = _thread_cpu(writer)
                    start_process, sending = time.process_time(), 0.0
            cpu = _thread_cpu(writer) - start
        finally:
            store.close()
        # Every thread but the sender's writes (the WAL), the close's last checkpoint included.
        process = time.process_time() - start_process - sending
    micros = {label: seconds / spans * 1e6 for label, seconds in spent.items()}
    micros["other"] = cpu / spans * 1e6 - sum(micros.values())
    micros["writer thread, total"] = cpu / spans * 1e6
    micros[_PROCESS] = process / spans * 1e6
    micros[_BASELINE] = baseline / spans * 1e6
    return micros


def _run_in(checkout: str | None, args: argparse.Namespace, extra_env: dict[str, str]) -> dict[str, float]:
    """One measurement in a child process (``checkout`` first on its PYTHONPATH)."""
    env = {**os.environ, **extra_env}
    if checkout:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [checkout, env.get("PYTHONPATH")]))
    command = [
        sys.executable, __file__, "--one", "--spans", str(args.spans), "--warm-spans",
        str(args.warm_spans), "--flush-mb", str(args.flush_mb), "--bodies", str(args.bodies),
    ]
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=120_000, help="spans measured (after the warm-up)")
    parser.add_argument("--warm-spans", type=int, default=150_000, help="spans stored before measuring")
    parser.add_argument("--flush-mb", type=float, default=16.0, help="payload per flush (the early-flush size)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per checkout, taking turns; the best is shown")
    parser.add_argument("--checkout", action="append", default=[], help="another checkout to compare")
    parser.add_argument("--bodies", type=Path, help="body file (default: bench/ingest_1m.py's)")
    parser.add_argument(
        "--python-conversion", action="store_true",
        help="also this checkout with the C conversion turned off (OTEL_FEEDBACK_NATIVE_INGEST=0)",
    )
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    per_request = _TRACES_PER_REQUEST * SPANS_PER_TRACE
    warm = -(-args.warm_spans // per_request)
    total = warm + -(-args.spans // per_request)
    if args.bodies is None:
        args.bodies = Path(tempfile.gettempdir()) / f"otel-feedback-bench-x{_TRACES_PER_REQUEST}.bodies"
    offsets = build_bodies(args.bodies, total, _TRACES_PER_REQUEST)
    if args.one:
        bodies = list(BodyFile(args.bodies, offsets))
        print(json.dumps(measure(bodies, warm=warm, flush_bytes=int(args.flush_mb * 1024 * 1024))))
        return 0
    checkouts: list[tuple[str | None, dict[str, str]]] = [(None, {}), *((path, {}) for path in args.checkout)]
    names = ["this checkout", *args.checkout]
    if args.python_conversion:
        checkouts.append((None, {"OTEL_FEEDBACK_NATIVE_INGEST": "0"}))
        names.append("Python conversion")
    best: list[dict[str, float]] = [{} for _ in checkouts]
    for _ in range(args.rounds):
        for index, (checkout, extra_env) in enumerate(checkouts):
            result = _run_in(checkout, args, extra_env)
            if not best[index] or result["writer thread, total"] < best[index]["writer thread, total"]:
                best[index] = result
    labels = [label for label in best[0]]
    for other in best[1:]:
        labels.extend(label for label in other if label not in labels)
    print(
        f"writer thread CPU us per span: {args.spans} spans after {args.warm_spans} stored, "
        f"{args.flush_mb:g} MB per flush, best of {args.rounds}; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"  {'':<34}" + "".join(f"{name[-24:]:>26}" for name in names))
    for label in labels:
        cells = []
        for result in best:
            value = result.get(label)
            ratio = f" ({value / result[_BASELINE]:4.1f}x)" if value is not None and label != _BASELINE else ""
            cells.append(f"{'—' if value is None else f'{value:7.2f}'}{ratio}")
        print(f"  {label:<34}" + "".join(f"{cell:>26}" for cell in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
