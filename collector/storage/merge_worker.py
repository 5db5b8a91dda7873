"""Compaction's merges run in one long-lived child process: the parent's handle and the child.

A merge (a streaming k-way merge of span files with their trace summaries, or a DuckDB merge of
assessment files) is CPU- and memory-hungry. In a thread of the collector it took the GIL from
the receivers and the writer and added its peak to theirs, so it had to take turns with the
flush. In a child it runs on the other core with its own heap, and the flush never waits for it.

The parent chooses the inputs and hands out the run and file numbers (the manifest stays the
only source of numbers); the child writes the merged files under their pending names exactly
as an in-process merge would (datasets.py, swap.py), and answers with their ``DataFile``
descriptions. The parent then swaps them in and publishes the manifest: the child never
touches the manifest or a live file, so whatever happens to it, the live files stay as they are.

Why a ``subprocess`` speaking JSON lines rather than a ``ProcessPoolExecutor``: the child's
stdin doubles as its lifeline. Only the parent holds the write end, so the pipe reaches end of
file when the parent closes it (``stop``) or dies, however it dies (SIGKILL included); a thread
in the child waits for that and ends the child at once, even mid-merge. No signal set-up (a
``PR_SET_PDEATHSIG`` follows the *thread* that started the child) and no pickling of the
parent's ``__main__``. Replies go through a copy of the child's stdout taken at start; fd 1
itself is pointed at stderr, so a stray print in a library cannot corrupt the protocol.

A child that dies mid-merge (killed, out of memory, a crash in native code) is noticed as end
of file on its stdout; the parent deletes the pending files of the numbers it handed out and
the child's scratch folder, and starts a new child for the next merge. A merge that fails in
the child (an unreadable input) cleans up after itself and answers with the error.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import duckdb

from otel_feedback_collector.storage.datasets import (
    LAYOUTS,
    SPANS,
    TRACE_SUMMARIES,
    DatasetLayout,
    data_file_name,
    merge_data_files,
    merge_span_files,
    pending_file,
    sorted_streams,
)
from otel_feedback_collector.storage.manifest import DataFile
from otel_feedback_collector.storage.trace_summaries import SummaryCalculator

logger = logging.getLogger("otel_feedback_collector.storage")

# Test seam: when set (a folder), the child writes ``<folder>/paused`` (its pid) once a merge
# has written its pending outputs and, instead of answering, waits there until it is killed or
# its stdin closes. The tests kill the child or the collector at that moment of a merge.
PAUSE_VARIABLE = "OTEL_FEEDBACK_MERGE_WORKER_PAUSE"
# How long ``stop`` waits for the child to end after closing its stdin before killing it.
_STOP_TIMEOUT = 10.0
_START = "from otel_feedback_collector.storage.merge_worker import serve; serve()"


class MergeFailed(Exception):
    """A merge did not complete: it failed in the child, or the child ended during it."""


@dataclass(frozen=True)
class MergeRequest:
    """One merge, as the parent chose it: everything the child needs, nothing to ask back."""

    dataset: str
    inputs: list[DataFile]
    level: int
    run: int
    # File numbers reserved in the manifest for the outputs (more than enough; the rest stay
    # unused, which only leaves gaps in the numbering).
    numbers: list[int]
    row_group_size: int
    file_bytes: int  # spans: compressed bytes per output file
    row_group_bytes: int  # spans
    input_budget_bytes: int  # spans: read-ahead over all inputs
    max_fan_in: int  # spans: streams merged at once
    partition_bytes: int  # assessments: compressed bytes per output file
    memory_limit: str  # assessments: DuckDB's memory limit (it spills beyond)

    def output_paths(self) -> list[str]:
        """Every path the merge may write to (pending until the swap renames it)."""
        layouts = (SPANS, TRACE_SUMMARIES) if self.dataset == SPANS.name else (LAYOUTS[self.dataset],)
        return [
            data_file_name(layout, level=self.level, number=number)
            for number in self.numbers
            for layout in layouts
        ]


def output_numbers_needed(dataset: str, input_bytes: int, file_bytes: int, partition_bytes: int) -> int:
    """How many file numbers to reserve for a merge of ``input_bytes`` compressed bytes.

    Assessments: one per trace-id partition, exactly. Spans: every output but the last holds at
    least ``file_bytes`` (a file is closed once it reaches them), and merged zstd files are no
    larger than their (Snappy or zstd) inputs; twice that bound, plus the last file and the
    summary file, leaves a wide margin."""
    if dataset == SPANS.name:
        return 2 * -(-input_bytes // file_bytes) + 2
    return max(1, -(-input_bytes // partition_bytes))


class MergeWorker:
    """The parent's handle on the merge child: started on the first merge, again after one died."""

    def __init__(self, data_dir: Path, scratch_dir: Path) -> None:
        self._data_dir = data_dir
        self._scratch_dir = scratch_dir
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # guards _process and _stopped against ``stop``
        self._stopped = False

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (for tests and benchmarks)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def merge(self, request: MergeRequest) -> tuple[list[DataFile], DataFile | None]:
        """Run ``request`` in the child; return the merged files and (spans) the summary file,
        left at their pending names. On any failure nothing of the merge is left behind and
        ``MergeFailed`` is raised. One merge at a time (the store's compaction mutex)."""
        try:
            reply = self._exchange(request)
        except BaseException:
            self.discard_outputs(request)
            raise
        if "error" in reply:
            self.discard_outputs(request)  # the child cleans up too; this also covers scratch
            raise MergeFailed(
                f"Merging {len(request.inputs)} {request.dataset} files failed in the compaction "
                f"process: {reply['error']}\n{reply['traceback']}"
            )
        merged = [DataFile(**item) for item in reply["merged"]]
        summary = DataFile(**reply["summary"]) if reply["summary"] else None
        return merged, summary

    def discard_outputs(self, request: MergeRequest) -> None:
        """Delete whatever the merge of ``request`` wrote (pending outputs, scratch files)."""
        for path in request.output_paths():
            pending_file(self._data_dir, path).unlink(missing_ok=True)
        for leftover in _files_under(self._scratch_dir):
            leftover.unlink(missing_ok=True)

    def stop(self) -> None:
        """End the child: a merge in progress is abandoned (its caller gets ``MergeFailed``
        and deletes its outputs). Idempotent; no merge starts afterwards."""
        with self._lock:
            self._stopped = True
            process, self._process = self._process, None
        if process is None:
            return
        _close_quietly(process.stdin)  # the child ends at end of file, even mid-merge
        try:
            process.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            logger.warning("The compaction process %d did not stop in %.0f s; killing it.", process.pid, _STOP_TIMEOUT)
            process.kill()
            process.wait()
        _close_quietly(process.stdout)

    def _exchange(self, request: MergeRequest) -> dict[str, Any]:
        process = self._running()
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(json.dumps(asdict(request)).encode("utf-8") + b"\n")
            process.stdin.flush()
            line = process.stdout.readline()
        except (OSError, ValueError):  # the pipe broke, or ``stop`` closed it
            line = b""
        if line:
            reply: dict[str, Any] = json.loads(line)
            return reply
        # End of file: the child is gone. Reap it; the next merge starts a new one.
        with self._lock:
            if self._process is process:
                self._process = None
            stopped = self._stopped
        _close_quietly(process.stdin)
        code = process.wait()
        _close_quietly(process.stdout)
        if stopped:
            raise MergeFailed("The store is closing; the merge was abandoned and runs again later.")
        raise MergeFailed(
            f"The compaction process (pid {process.pid}) ended during a merge (exit status {code}); "
            "the live files are unchanged and the next merge starts a new process."
        )

    def _running(self) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._stopped:
                raise MergeFailed("The store is closing; no merge starts now.")
            if self._process is None or self._process.poll() is not None:
                if self._process is not None:  # ended between merges
                    _close_quietly(self._process.stdin)
                    _close_quietly(self._process.stdout)
                self._process = subprocess.Popen(
                    [sys.executable, "-c", _START, str(self._data_dir), str(self._scratch_dir)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    close_fds=True,
                )
            return self._process


def _close_quietly(stream: IO[bytes] | None) -> None:
    if stream is None:
        return
    try:
        stream.close()
    except OSError:
        pass


def _files_under(folder: Path) -> Iterator[Path]:
    if folder.is_dir():
        yield from (path for path in folder.rglob("*") if path.is_file())


# -- the child ---------------------------------------------------------------------------------


def serve() -> None:
    """The child's main loop (``sys.argv``: data directory, scratch folder): answer merge
    requests read from stdin, one JSON line each, until stdin ends."""
    data_dir, scratch_dir = Path(sys.argv[1]), Path(sys.argv[2])
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # fd 1 now goes to stderr: only ``replies`` carries the protocol
    from otel_feedback_collector.allocator import limit_heaps, release_large_allocations
    from otel_feedback_collector.storage.memory import release_free_memory, use_system_allocator

    # Ctrl-C in a terminal signals the whole process group: the collector's graceful stop
    # ends this process (through the lifeline) once it no longer needs it, not the signal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_heaps()
    release_large_allocations()
    use_system_allocator()
    requests: queue.Queue[dict[str, Any]] = queue.Queue()
    threading.Thread(target=_read_requests, args=(requests,), name="lifeline", daemon=True).start()
    while True:
        request = requests.get()
        try:
            merged, summary = _merge(MergeRequest(**request), data_dir, scratch_dir)
            reply: dict[str, Any] = {
                "merged": [asdict(f) for f in merged],
                "summary": asdict(summary) if summary else None,
            }
        except Exception as error:  # noqa: BLE001 - answered to the parent, which logs it
            reply = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
        _pause_for_tests()
        replies.write(json.dumps(reply).encode("utf-8") + b"\n")
        replies.flush()
        release_free_memory()  # between merges the child holds little


def _read_requests(requests: queue.Queue[dict[str, Any]]) -> None:
    """The lifeline: pass requests on; at end of file (the parent closed the pipe or died)
    end the process at once, whatever the main thread is doing."""
    try:
        for line in sys.stdin.buffer:
            requests.put(json.loads(line))
    finally:
        os._exit(0)


def _merge(request: MergeRequest, data_dir: Path, scratch_dir: Path) -> tuple[list[DataFile], DataFile | None]:
    """Run one merge as the parent asked (the child's side of ``MergeWorker.merge``)."""
    inputs = [DataFile(**f) if isinstance(f, dict) else f for f in request.inputs]
    numbers = iter(request.numbers)

    def next_path(target: DatasetLayout = LAYOUTS[request.dataset]) -> str:
        number = next(numbers, None)
        if number is None:
            raise RuntimeError("The merge needs more output files than were reserved for it.")
        return data_file_name(target, level=request.level, number=number)

    scratch_dir.mkdir(parents=True, exist_ok=True)
    if request.dataset == SPANS.name:
        summaries = SummaryCalculator()
        try:
            return merge_span_files(
                summaries,
                inputs=sorted_streams(data_dir, inputs),
                data_dir=data_dir,
                relative_paths=next_path,
                level=request.level,
                run=request.run,
                row_group_size=request.row_group_size,
                row_group_bytes=request.row_group_bytes,
                file_bytes=request.file_bytes,
                input_budget_bytes=request.input_budget_bytes,
                scratch_dir=scratch_dir,
                max_fan_in=request.max_fan_in,
            )
        finally:
            summaries.close()
    connection = merge_connection(scratch_dir, request.memory_limit)
    try:
        merged = merge_data_files(
            connection,
            LAYOUTS[request.dataset],
            inputs=[f.path for f in inputs],
            data_dir=data_dir,
            relative_paths=next_path,
            level=request.level,
            run=request.run,
            row_group_size=request.row_group_size,
            partition_bytes=request.partition_bytes,
        )
    finally:
        connection.close()
    return merged, None


def merge_connection(spill_dir: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB for merging: bounded memory, one thread, spilling to ``spill_dir``."""
    spill_dir.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        config={
            "memory_limit": memory_limit,
            "threads": 1,
            "temp_directory": str(spill_dir),
            "preserve_insertion_order": False,
        }
    )


def _pause_for_tests() -> None:
    folder = os.environ.get(PAUSE_VARIABLE)
    if not folder:
        return
    (Path(folder) / "paused").write_text(str(os.getpid()))
    while True:  # until killed, or the lifeline ends the process
        time.sleep(0.05)

