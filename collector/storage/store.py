"""``SpanStore``: the collector's durable write path and the owner of a data directory.

Write path: a receiver thread calls ``write_traces``; the request is framed into the
write-ahead log and the call returns once a (shared) fdatasync covered it. A writer thread wakes
every ``flush_interval`` seconds (or sooner when much is pending), seals the WAL segment,
converts the records to Arrow once, writes one sorted Parquet file per dataset, publishes it in
the manifest and deletes the sealed segment. A compaction thread merges small files into large
ones; the merge itself runs in a child process (merge_worker.py), and the thread moves the
replaced files into ``<dataset>/_retired/`` before the merged files appear (swap.py: a glob
over ``<dataset>/*.parquet`` never sees a row twice) and deletes them there after a grace
period.

Data directory layout (docs/storage.md has the details)::

    manifest.json            live files, retired files, last WAL segment already in Parquet
    collector.lock           held (flock) by the one process that writes here
    wal/segment-*.wal        write-ahead log segments; wal/damaged/ holds set-aside ones
    wal/quarantine/          single records that could not be converted (quarantine.py)
    tmp/                     DuckDB spill files (emptied at start-up); tmp/merge/ the merge child's
    spans/spans-L<level>-<number>.parquet
    trace_summaries/trace_summaries-L<level>-<number>.parquet   one partial summary per trace
    assessments/assessments-L<level>-<number>.parquet
    <dataset>/_retired/      files compaction replaced, until the grace period ends
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from otel_feedback_collector.storage.assessments import AssessmentRecord, assessments_to_table
from otel_feedback_collector.storage.datasets import (
    ASSESSMENTS,
    LAYOUTS,
    SPANS,
    TRACE_SUMMARIES,
    DatasetLayout,
    data_file_name,
    parquet_list_sql,
    write_table_file,
)
from otel_feedback_collector.storage.errors import IndexRebuilding, StoreBusy, StoreLocked, StoreUnavailable
from otel_feedback_collector.storage.live_reads import LiveReads, has_duplicate_spans
from otel_feedback_collector.storage.log_assessments import logs_request_to_assessments
from otel_feedback_collector.storage.manifest import DataFile, Manifest, write_manifest
from otel_feedback_collector.storage.manifest_recovery import open_manifest
from otel_feedback_collector.storage.memory import use_system_allocator
from otel_feedback_collector.storage.merge_worker import (
    MergeRequest,
    MergeWorker,
    merge_connection,
    output_numbers_needed,
)
from otel_feedback_collector.storage.otlp_values import to_json
from otel_feedback_collector.storage.quarantine import QUARANTINE_DIR, Quarantine
from otel_feedback_collector.storage.readable_files import unreadable_reason
from otel_feedback_collector.storage.span_rows import traces_payload_to_rows
from otel_feedback_collector.storage.swap import (
    discard_pending,
    move_legacy_retired,
    restore_live_files,
    swap_files,
    unlisted_retired_files,
)
from otel_feedback_collector.storage.summary_upgrade import rewrite_older_summaries
from otel_feedback_collector.storage.trace_summaries import SummaryCalculator, spans_to_summaries_sql
from otel_feedback_collector.storage.views import create_views, open_read_connection
from otel_feedback_collector.storage.wal import (
    RecordKind,
    SegmentReader,
    WalRecord,
    WriteAheadLog,
    list_segments,
    segment_number,
)

logger = logging.getLogger("otel_feedback_collector.storage")

_LOCK_NAME = "collector.lock"
_WAL_DIR = "wal"
_DAMAGED_DIR = "damaged"
# Flush early when this much is waiting, whatever the interval: it bounds memory.
_EARLY_FLUSH_BYTES = 16 * 1024 * 1024
# Flushed (level-0) files are Snappy-compressed: half the CPU of zstd for twice the bytes, and
# they live only until compaction merges them into zstd files (7 against 15 us per GenAI span).
_FLUSH_COMPRESSION = "snappy"
# WAL payload bytes converted to Arrow at a time while flushing (bounds the flush's memory).
_CHUNK_BYTES = 4 * 1024 * 1024
_SPILL_DIR = "tmp"
_MERGE_SCRATCH_DIR = "merge"  # under tmp/: the merge child's spill and intermediate files
# DuckDB's memory for merging assessments (narrow rows) and for building missing summaries;
# it spills to ``tmp/`` beyond this.
_MERGE_MEMORY_LIMIT = "64MB"
# Compressed bytes per assessment compaction output file (one trace-id range each: DuckDB
# sorts each range on its own).
_MERGE_PARTITION_BYTES = 16 * 1024 * 1024
# Compressed bytes per span compaction output file at level 1 (one trace-id range each); higher
# levels write larger files, up to the second bound (see ``_merge_file_bytes``). The streaming
# merge's memory does not depend on them; a read opens one file per run.
_SPAN_FILE_BYTES = 64 * 1024 * 1024
_MERGE_MAX_FILE_BYTES = 1024 * 1024 * 1024
# Span compaction is a streaming merge: this much (uncompressed) is read ahead over all
# inputs, and an output row group holds at most this much (fewer rows when spans are wide).
# The read-ahead sets the merge's batch size: with 4 MB over 16 inputs a batch held ~85 GenAI
# spans and per-batch costs made a merge ~70 us of CPU per span; 16 MB gives ~50 us for ~30 MB
# more in the merge child (measured on 16 flushed files: bench numbers in docs/collector.md).
_MERGE_INPUT_BUDGET_BYTES = 16 * 1024 * 1024
# One trace's spans are read by the row group (every column of it decoded). Until the merge
# cut a step's rows into row groups of this size (sorted_merge.py), a row group held a whole
# merge step, ~4,400 GenAI spans, and a one-trace read of a file took 27 ms with the file on
# disk, 16 with it in the page cache; with ~1,100 spans, 11 and 8 ms (one 64 MB file of a
# ten-million-span run rewritten both ways). 4 MB gives ~1,260 GenAI spans; 1 MB would give
# ~300 and footers of ~1 MB per 37 MB file, which every reader parses and DuckDB caches.
_MERGE_ROW_GROUP_BYTES = 4 * 1024 * 1024
# Inputs one background merge reads at once: flushed files, or runs of a higher level (the
# streaming merge's own fan-in: more would first be merged in groups into temporary files,
# writing every span once more).
_MERGE_MAX_INPUTS = 16
# Compressed bytes one background merge reads at most (see ``_files_to_merge``): about 30 s of
# the merge child's CPU for GenAI spans; runs larger than this over the fan-in are final.
_MERGE_MAX_INPUT_BYTES = 1024 * 1024 * 1024
# Free space kept on the data directory's disk on top of room to convert what the WAL holds:
# a sixteenth of the disk, at most this much (trace summaries, index growth, the manifest).
_DISK_RESERVE_MAX = 64 * 1024 * 1024
_DISK_RETRY_AFTER = 5.0
# Failures of the machine, not of a record: a flush that meets one is retried as a whole,
# while any other failure converting a record quarantines that record (see quarantine.py).
_COMPACT_INDEX_WAIT = 300.0
_NEEDS_THE_INDEX = (
    "The trace index is being rebuilt (after a crash or a failure), and at this data size this "
    "read needs it. Storage goes on meanwhile: nothing sent is lost. Retry in a minute or two."
)
# A read while the trace index is down is stopped (503) after this many seconds (see ``reading``).
_FALLBACK_READ_SECONDS = 20.0
_NOT_THE_RECORDS_FAULT = (MemoryError, OSError, duckdb.IOException, duckdb.OutOfMemoryException)


class SpanStore:
    """The durable span and assessment store of one data directory (one writing process)."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        flush_interval: float = 1.0,
        max_pending_bytes: int = 256 * 1024 * 1024,
        pending_wait: float = 2.0,
        compaction_fan_in: int = 16,
        compaction_interval: float = 5.0,
        retired_file_grace: float = 300.0,
        row_group_size: int = 16384,
    ) -> None:
        if flush_interval <= 0:
            raise ValueError("flush_interval must be a positive number of seconds.")
        if max_pending_bytes <= 0:
            raise ValueError("max_pending_bytes must be a positive number of bytes.")
        if not 0 <= pending_wait < float("inf"):  # NaN fails too: a write would wait forever
            raise ValueError("pending_wait must be zero or a positive, finite number of seconds.")
        if compaction_fan_in < 2:
            raise ValueError("compaction_fan_in must be at least 2 files.")
        self.data_dir = Path(data_dir).resolve()
        self._flush_interval = flush_interval
        self._max_pending_bytes = max_pending_bytes
        self._pending_wait = pending_wait
        self._fan_in = compaction_fan_in
        self._compaction_interval = compaction_interval
        self._retired_grace = retired_file_grace
        self._row_group_size = row_group_size
        self._wal = WriteAheadLog(self.data_dir / _WAL_DIR)
        self._pending_lock = threading.Lock()
        # Sealed WAL segments not yet in Parquet (their records are read back from disk when
        # flushed, so acknowledged payloads are not also held in memory).
        self._unflushed_segments: list[Path] = []
        # Damaged segments whose intact records are stored by the next flush, then kept aside.
        self._set_aside_after_flush: set[Path] = set()
        self._pending_bytes = 0
        self._inflight_bytes = 0
        # Writes waiting for the writer to make room under ``max_pending_bytes``; notified
        # when a flush ends (see ``wait_for_room``).
        self._room = threading.Condition(self._pending_lock)
        self._room_waiters = 0
        self._manifest_lock = threading.Lock()
        self._manifest = Manifest()
        self._spans_unchecked = False  # this flush stored spans without the disjointness check
        # Flushes published with unchecked spans so far, and how many there were when a check
        # of every span key last found a span in two runs (see ``_check_disjoint_spans``).
        self._unchecked_flushes = 0
        self._duplicates_found_at = -1
        self._reads = LiveReads(self.data_dir)
        self._flush_cond = threading.Condition()
        self._flush_requests = 0
        self._flushes_done = 0
        self._stopping = False
        self._compaction_wakeup = threading.Event()
        # One compaction at a time: the background thread and ``compact()`` share it.
        self._compaction_mutex = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._lock_fd = -1
        self._state = "new"
        self._writer_error: BaseException | None = None
        self._failed_flushes = 0  # flush attempts that failed so far
        self._summaries: SummaryCalculator | None = None
        # Compaction's merges run in a child process with its own memory (merge_worker.py): the
        # flush no longer takes turns with them.
        self._merger = MergeWorker(self.data_dir, self.data_dir / _SPILL_DIR / _MERGE_SCRATCH_DIR)
        self._last_compaction_error = ""
        self._merge_waits_for_disk = False
        # WAL records that could not be converted are set aside here (see quarantine.py).
        self._quarantine = Quarantine(self.data_dir / _WAL_DIR / QUARANTINE_DIR)

    @property
    def quarantined_records(self) -> int:
        """How many WAL records are in ``wal/quarantine/`` because they could not be stored."""
        return self._quarantine.count

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> None:
        """Create or recover the data directory, replay the WAL and start the writer threads."""
        if self._state != "new":
            raise RuntimeError("This SpanStore was already opened; create a new one.")
        for sub in ("", _WAL_DIR, SPANS.name, ASSESSMENTS.name, TRACE_SUMMARIES.name):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        self._take_directory_lock()
        use_system_allocator()
        self._manifest = open_manifest(self.data_dir)
        # A compaction swap a crash interrupted is undone in this order: its merged files
        # (listed by no manifest) are deleted, then its inputs move back from _retired/.
        self._remove_unpublished_files()
        restore_live_files(self.data_dir, self._manifest)
        self._move_legacy_retired_files()
        try:
            self._delete_expired_retired_files()
        except OSError as error:  # a full disk must not stop start-up; retried later
            logger.warning("Could not delete retired files yet: %s", error)
        self._rewrite_older_summaries()
        self._summaries = SummaryCalculator()
        self._summarize_runs_without_summaries()
        self._reads.open(self._manifest)
        last_segment = self._recover_wal()
        applied = self._manifest.wal_applied_through
        self._wal.open(first_segment_number=max(last_segment, applied) + 1)
        self._state = "open"
        for name, target in (("writer", self._writer_loop), ("compactor", self._compactor_loop)):
            thread = threading.Thread(target=target, name=f"otel-feedback-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if not self._manifest.disjoint_spans:
            self._compaction_wakeup.set()  # the compactor proves them disjoint if they are

    def close(self) -> None:
        """Flush everything written so far and stop the threads; idempotent."""
        if self._state != "open":
            return
        try:
            self.flush()
        except RuntimeError as error:
            # Nothing is lost: what is not in Parquet yet stays in the write-ahead log, which
            # the next start replays.
            logger.error(
                "STOPPING WITH RECORDS NOT YET IN PARQUET (%s). They are safe in the write-ahead "
                "log in %s and are stored at the next start; free disk space before it.",
                error, self.data_dir / _WAL_DIR,
            )
        self._state = "closing"
        with self._flush_cond:
            self._stopping = True
            self._flush_cond.notify_all()
        with self._room:
            self._room.notify_all()  # writes waiting for room are refused now
        self._compaction_wakeup.set()
        # A merge in progress is abandoned (its pending files deleted); it runs again later.
        self._merger.stop()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        # A segment left behind is deleted at the next open (it is at or below
        # ``wal_applied_through``), so nothing acknowledged is ever deleted here.
        self._wal.close()
        self._reads.close(wal_applied_through=self._manifest.wal_applied_through)
        if self._summaries is not None:
            self._summaries.close()
            self._summaries = None
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
        self._state = "closed"

    def __enter__(self) -> SpanStore:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- write path --------------------------------------------------------------------------

    def write_traces(
        self, request: ExportTraceServiceRequest, *, serialized: bytes | None = None
    ) -> int:
        """Store the request's spans durably; return how many spans were accepted.

        Returns only after the request is in the fsynced write-ahead log. Thread-safe.
        Raises ``StoreBusy`` when too much is waiting to be written. ``serialized`` is the
        request's protobuf encoding when the caller has it (the body as received, when the
        receiver removed nothing): it is logged as is instead of encoding the request again.
        """
        count = sum(
            len(scope_spans.spans)
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
        )
        if count:
            payload = serialized if serialized is not None else request.SerializeToString()
            self._append(RecordKind.TRACES, payload)
        return count

    def write_logs(self, request: ExportLogsServiceRequest) -> int:
        """Store the ``gen_ai.evaluation.result`` log records as assessments; return how many
        log records were accepted (all of them: the other records are counted and dropped)."""
        records, seen = logs_request_to_assessments(request)
        if records:
            self.write_assessments(records)
        return seen

    def write_assessments(self, records: Sequence[AssessmentRecord]) -> int:
        """Append assessment records durably; return how many were accepted."""
        if records:
            payload = to_json([asdict(record) for record in records]).encode("utf-8")
            self._append(RecordKind.ASSESSMENTS, payload)
        return len(records)

    def flush(self) -> None:
        """Block until everything written so far is in Parquet and queryable."""
        self._require_open()
        with self._flush_cond:
            self._flush_requests += 1
            target = self._flush_requests
            failures_before = self._failed_flushes
            self._flush_cond.notify_all()
            while self._flushes_done < target:
                # Only a failure after this request counts (space may have returned since).
                if self._writer_error is not None and self._failed_flushes > failures_before:
                    raise RuntimeError(
                        f"The storage writer failed: {self._writer_error}. See the log."
                    ) from self._writer_error
                self._flush_cond.wait(timeout=0.5)

    def wait_for_trace_index(self, timeout: float = 60.0) -> bool:
        """Wait until reads use the trace index again (after it was rebuilt in the background,
        see live_reads.py); False if that did not happen within ``timeout`` seconds."""
        self._require_open()
        deadline = time.monotonic() + timeout
        while not self._reads.usable:
            if time.monotonic() >= deadline:
                return False
            self.flush()  # the writer takes a finished rebuild over between two flushes
            time.sleep(0.02)
        return True

    def connect(self) -> duckdb.DuckDBPyConnection:
        """Return a read connection with the views over the live files (see live_reads.py);
        use it in one thread and close it afterwards."""
        if self._state != "open":
            connection = open_read_connection()
            with self._manifest_lock:
                snapshot = Manifest.from_json(self._manifest.to_json())
            create_views(connection, self.data_dir, snapshot)
            return connection
        return self._reads.cursor(self._manifest_snapshot())

    @contextlib.contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read connection for the ``with`` block (pooled; see live_reads.py): the way the
        API and the UI read, one request in one thread."""
        if self._state != "open" or not self._reads.usable:
            if self._state == "open" and self._reads.fallback_gave_up:
                raise IndexRebuilding(_NEEDS_THE_INDEX)  # at once: the reads would only fail again
            connection = self.connect()
            # While the index is down: combining every run's summaries of millions of traces
            # needs GBs and minutes; the reads' database is bounded in memory (live_reads.py),
            # and a read is stopped after a while rather than take the rebuild's CPU.
            timer = None
            if self._state == "open":
                timer = threading.Timer(_FALLBACK_READ_SECONDS, connection.interrupt)
                timer.daemon = True
                timer.start()
            try:
                yield connection
            except (duckdb.OutOfMemoryException, duckdb.InterruptException) as error:
                if timer is None:
                    raise
                # The data is too large for reads without the index: the next ones until it is
                # back are answered at once, not after taking the rebuild's CPU for 20 s each.
                self._reads.fallback_gave_up = True
                raise IndexRebuilding(_NEEDS_THE_INDEX) from error
            finally:
                if timer is not None:
                    timer.cancel()
                connection.close()
            return
        with self._reads.reading(self._manifest_snapshot()) as connection:
            yield connection

    def _manifest_snapshot(self) -> Manifest:
        """The current manifest (never changed in place: a change replaces the object)."""
        with self._manifest_lock:
            return self._manifest

    def compact(self, *, full: bool = False) -> int:
        """Merge flushed files now; with ``full`` rewrite all live files of each dataset into
        sorted files covering disjoint trace-id ranges (one file for small datasets).
        Returns the number of files merged away. Waits (up to ``_COMPACT_INDEX_WAIT``
        seconds) for a trace index that is being rebuilt: nothing is merged meanwhile."""
        self._require_open()
        self.wait_for_trace_index(timeout=_COMPACT_INDEX_WAIT)
        merged = 0
        for layout in LAYOUTS.values():
            merged += self._compact_dataset(layout, full=full)
        self._delete_expired_retired_files()
        return merged

    # -- internals ---------------------------------------------------------------------------

    def _require_open(self) -> None:
        if self._state != "open":
            raise RuntimeError("The store is not open; call SpanStore.open() first.")

    def check_room(self, nbytes: int) -> None:
        """Raise ``StoreBusy`` when a record of ``nbytes`` would be refused now (no waiting)."""
        self.wait_for_room(nbytes, timeout=0.0)

    def wait_for_room(self, nbytes: int, *, timeout: float | None = None) -> None:
        """Return once a record of ``nbytes`` fits under ``max_pending_bytes``, waiting up to
        ``timeout`` seconds (default: the store's ``pending_wait``) for the writer to make
        room; raise ``StoreBusy`` if it still does not fit. What every write checks first, so
        a receiver can also check before decoding an export.

        Waiting, rather than refusing at once, keeps the writer busy under a sustained load:
        an export refused with 429 makes its sender sleep for the retry delay (a second or
        more), and with every sender asleep the writer ran out of work after catching up
        (measured: the writer busy ~65% of the time, 88 refusals over 300k spans).
        """
        wait = self._pending_wait if timeout is None else timeout
        deadline = time.monotonic() + wait
        with self._room:
            if self._fits(nbytes):
                return
            self._room_waiters += 1
        try:
            if wait > 0:
                # Something waits for room: the writer flushes now rather than at its interval.
                with self._flush_cond:
                    self._flush_cond.notify_all()
            with self._room:
                while not self._fits(nbytes):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._stopping:
                        waiting = self._pending_bytes + self._inflight_bytes
                        raise StoreBusy(
                            f"The store has {waiting} bytes waiting to be written (limit "
                            f"{self._max_pending_bytes}); retry shortly.",
                            retry_after=max(1.0, self._flush_interval),
                        )
                    self._room.wait(remaining)
        finally:
            with self._room:
                self._room_waiters -= 1

    def _fits(self, nbytes: int) -> bool:
        """Whether a record of ``nbytes`` fits now (call with ``_pending_lock`` held). A record
        larger than the whole limit is let in when nothing waits: refusing it would answer
        "retry" forever (its bytes are read back from the WAL, not held in memory)."""
        waiting = self._pending_bytes + self._inflight_bytes
        return not waiting or waiting + nbytes <= self._max_pending_bytes

    def _disk_room(self) -> tuple[int, int] | None:
        """Free bytes on the data directory's disk and the reserve kept on it (a sixteenth of
        the disk, at most ``_DISK_RESERVE_MAX``); None when the disk cannot be asked or does
        not say (then nothing is refused for room: a full disk still fails the write itself)."""
        try:
            stat = os.statvfs(self.data_dir)
        except OSError:
            return None
        if stat.f_blocks == 0 or stat.f_frsize == 0:
            return None  # a file system that reports no sizes (some FUSE and network mounts)
        return stat.f_bavail * stat.f_frsize, min(_DISK_RESERVE_MAX, stat.f_blocks * stat.f_frsize // 16)

    def _check_disk_room(self, nbytes: int, room: tuple[int, int] | None) -> None:
        """Refuse (``StoreUnavailable``) a record of ``nbytes`` that would leave too little free
        disk space to convert the WAL to Parquet (call with ``_pending_lock`` held; ``room``
        is :meth:`_disk_room`, asked before taking the lock: a slow ``statvfs``, on a network
        mount, must not hold up every other write).

        Without this, a flood on a nearly full disk filled it with WAL segments before the
        first flush: the WAL could then never be converted (the Parquet files found no room)
        nor released (only a published flush releases it), so nothing more was stored until
        someone freed space, even after a restart. The rule: after the record, the free space
        must hold every byte not yet in Parquet once more (its Parquet is smaller than its
        protobuf) plus the reserve.
        """
        if room is None:
            return  # the append itself reports what is wrong with the directory
        free, reserve = room
        unconverted = self._pending_bytes + self._inflight_bytes + nbytes
        if free - nbytes >= unconverted + reserve:
            return
        raise StoreUnavailable(
            f"The disk holding {self.data_dir} has {free} bytes free; the collector keeps room "
            f"to write the {unconverted - nbytes} bytes its write-ahead log holds to Parquet, "
            f"plus a reserve of {reserve} bytes, so nothing of this request ({nbytes} bytes) "
            "was stored. Free disk space there, then retry.",
            retry_after=_DISK_RETRY_AFTER,
        )

    def _merge_fits_on_disk(self, input_bytes: int) -> bool:
        """Whether a merge reading ``input_bytes`` can write its output (about as large; the
        inputs stay on disk until the retired-file grace ends) and still leave the flush the
        room ``_check_disk_room`` keeps. A merge that filled the disk would fail anyway, after
        making the flushes and then the writes fail meanwhile; skipped, it runs once there is
        room, and reads only meet more files."""
        room = self._disk_room()
        if room is None:
            return True
        free, reserve = room
        with self._pending_lock:
            unconverted = self._pending_bytes + self._inflight_bytes
        if free >= input_bytes + unconverted + 2 * reserve:
            self._merge_waits_for_disk = False
            return True
        if not self._merge_waits_for_disk:  # once per episode: it is checked every interval
            logger.warning(
                "Compaction waits for disk space: a merge of %d bytes needs about as much free "
                "space in %s, plus room for the flush (%d bytes free). Reads meet more files "
                "meanwhile; nothing is lost.", input_bytes, self.data_dir, free,
            )
        self._merge_waits_for_disk = True
        return False

    def _append(self, kind: RecordKind, payload: bytes) -> None:
        self._require_open()
        self.wait_for_room(len(payload))
        room = self._disk_room()
        with self._pending_lock:
            self._check_disk_room(len(payload), room)
            sequence = self._wal.append(kind, payload)
            self._pending_bytes += len(payload)
            early = self._pending_bytes >= _EARLY_FLUSH_BYTES
        self._wal.wait_durable(sequence)
        if early:
            with self._flush_cond:
                self._flush_cond.notify_all()

    def _writer_loop(self) -> None:
        next_flush = time.monotonic() + self._flush_interval
        while True:
            with self._flush_cond:
                while (
                    not self._stopping
                    and self._flush_requests == self._flushes_done
                    and self._pending_bytes < _EARLY_FLUSH_BYTES
                    and not (self._room_waiters and self._pending_bytes)
                    and time.monotonic() < next_flush
                ):
                    self._flush_cond.wait(timeout=max(0.0, next_flush - time.monotonic()))
                target = self._flush_requests
                stopping = self._stopping
            next_flush = time.monotonic() + self._flush_interval
            try:
                self._flush_pending()
                self._writer_error = None
            except Exception as error:  # keep serving; the WAL still holds the records
                if str(error) != str(self._writer_error):
                    logger.exception("Writing pending records to Parquet failed; will retry.")
                else:
                    logger.error("Writing pending records to Parquet failed again (%s); will retry.", error)
                self._writer_error = error
                self._failed_flushes += 1
                self._remove_orphans()
                if stopping:  # the records stay in the WAL for the next start
                    with self._flush_cond:
                        self._flush_cond.notify_all()
                    break
                time.sleep(min(self._flush_interval, 1.0))
                continue
            with self._flush_cond:
                self._flushes_done = max(self._flushes_done, target)
                self._flush_cond.notify_all()
            if stopping:
                break

    def _flush_pending(self) -> None:
        with self._pending_lock:
            if self._pending_bytes:
                self._unflushed_segments.extend(self._wal.rotate())
                self._inflight_bytes += self._pending_bytes
                self._pending_bytes = 0
            sealed = list(self._unflushed_segments)
            flushing = self._inflight_bytes
        # No flush runs now: a rebuild's snapshot, and the flushes it then adds, are whole.
        if self._reads.repair(self._manifest_snapshot):
            self._compaction_wakeup.set()  # flushes stored meanwhile were not checked: see there
        if not sealed:
            return
        readers = [SegmentReader(path) for path in sealed]
        # On failure the segments stay in ``_unflushed_segments`` and the next flush retries
        # (all of them: the room its chunks made is taken back).
        try:
            self._store_records(
                (record for reader in readers for record in reader),
                wal_through=segment_number(sealed[-1]),
                made_room=self._made_room,
            )
        except BaseException:
            with self._pending_lock:
                self._inflight_bytes = flushing
            raise
        damaged = [reader.path for reader in readers if reader.damage is not None]
        for reader in readers:
            if reader.damage is not None and reader.path not in self._set_aside_after_flush:
                _log_damage(reader, self.data_dir / _WAL_DIR / _DAMAGED_DIR)
        damaged.extend(path for path in sealed if path in self._set_aside_after_flush)
        with self._pending_lock:
            del self._unflushed_segments[: len(sealed)]
            self._inflight_bytes = 0
            self._room.notify_all()
        self._set_aside(damaged)
        self._set_aside_after_flush.difference_update(sealed)
        self._wal.release([path for path in sealed if path not in damaged])
        self._compaction_wakeup.set()

    def _made_room(self, nbytes: int) -> None:
        """A flush wrote ``nbytes`` of its records to level-0 files (not yet published):
        writes waiting for room may go on. The limit then bounds what is not yet converted,
        so a long flush (a backlog of up to ``max_pending_bytes``) lets senders go on chunk by
        chunk instead of holding them for the whole flush, longer than ``pending_wait``."""
        with self._room:
            self._inflight_bytes = max(0, self._inflight_bytes - nbytes)
            self._room.notify_all()

    def _store_records(
        self,
        records: Iterable[WalRecord],
        *,
        wal_through: int,
        made_room: Callable[[int], None] | None = None,
    ) -> None:
        """Convert WAL records to Arrow, write them as level-0 files and publish them;
        ``made_room`` is told the payload bytes of each chunk written.

        Records are converted in chunks of about ``_CHUNK_BYTES`` so memory stays bounded
        however far behind the writer is; a key seen earlier in this flush is skipped.
        """
        seen_spans: set[tuple[str, str]] = set()
        seen_assessments: set[str] = set()
        self._reads.start_flush()
        with self._manifest_lock:
            run = self._manifest.take_file_number()
        new_files: list[tuple[str, DataFile]] = []
        partial_summaries: list[pa.Table] = []
        chunk: list[WalRecord] = []
        chunk_bytes = 0
        for record in records:
            chunk.append(record)
            chunk_bytes += len(record.payload)
            if chunk_bytes >= _CHUNK_BYTES:
                new_files.extend(
                    self._write_chunk(chunk, seen_spans, seen_assessments, partial_summaries, run=run)
                )
                if made_room is not None:
                    made_room(chunk_bytes)
                chunk, chunk_bytes = [], 0
        if chunk:
            new_files.extend(
                self._write_chunk(chunk, seen_spans, seen_assessments, partial_summaries, run=run)
            )
            chunk = []
        if partial_summaries:
            assert self._summaries is not None
            summary = self._summaries.merge(partial_summaries)
            partial_summaries.clear()
            summary_file = self._write_level0_file(summary, TRACE_SUMMARIES, run=run)
            if summary_file is not None:
                new_files.append((TRACE_SUMMARIES.name, summary_file))
        else:
            summary = None
        # Read back before publishing: once published, compaction may move the files away.
        assessments = self._reads.read_assessments([f.path for name, f in new_files if name == ASSESSMENTS.name])
        self._publish(new_files, wal_through=wal_through)
        self._reads.add(summary, assessments, run=run, through=wal_through)

    def _write_chunk(
        self,
        records: list[WalRecord],
        seen_spans: set[tuple[str, str]],
        seen_assessments: set[str],
        partial_summaries: list[pa.Table],
        *,
        run: int,
    ) -> list[tuple[str, DataFile]]:
        span_parts: list[tuple[WalRecord, pa.Table]] = []
        assessment_parts: list[pa.Table] = []
        for record in records:
            try:
                table, found, found_table = self._convert_record(record, seen_spans)
            except _NOT_THE_RECORDS_FAULT:
                raise  # the flush fails and is retried; nothing is set aside
            except Exception as error:  # noqa: BLE001 - any other failure is the record's
                self._quarantine.add(record, error)
                continue
            if table is not None:
                span_parts.append((record, table))
            if found_table is not None:
                # A resent record, or one id twice in it: the first row of each id counts.
                keep = _first_of_each(found, [a.assessment_id not in seen_assessments for a in found])
                seen_assessments.update(a.assessment_id for a in found)
                if all(keep):
                    assessment_parts.append(found_table)
                elif any(keep):
                    assessment_parts.append(found_table.filter(pa.array(keep)))
        spans_table, partial, roots = self._summarize(span_parts, seen_spans)
        if spans_table is not None and partial is not None and roots is not None:
            spans_table, partial = self._drop_stored_spans(spans_table, partial, roots)
        if partial is not None:
            partial_summaries.append(partial)
        tables = {
            SPANS.name: spans_table,
            ASSESSMENTS.name: self._drop_stored_assessments(assessment_parts),
        }
        del span_parts, spans_table, assessment_parts
        written: list[tuple[str, DataFile]] = []
        for name in list(tables):
            table = tables.pop(name)
            if table is None or table.num_rows == 0:
                continue
            data_file = self._write_level0_file(table, LAYOUTS[name], run=run)
            del table
            if data_file is not None:
                written.append((name, data_file))
        return written

    def _drop_stored_assessments(self, parts: list[pa.Table]) -> pa.Table | None:
        """The chunk's assessment rows without the ids an earlier flush stored (a resent
        record), so a glob over ``assessments/*.parquet`` never sees an id twice."""
        if not parts:
            return None
        table = pa.concat_tables(parts)
        stored = self._reads.stored_assessment_ids(
            table.column("assessment_id").to_pylist(), manifest=self._manifest_snapshot
        )
        if not stored:
            return table
        return table.filter(pc.invert(pc.is_in(table["assessment_id"], value_set=pa.array(sorted(stored)))))

    def _convert_record(
        self, record: WalRecord, seen_spans: set[tuple[str, str]]
    ) -> tuple[pa.Table | None, list[AssessmentRecord], pa.Table | None]:
        """One WAL record as span rows, its assessments and their rows, each converted to its
        Parquet schema (raises on a record that does not fit, before anything of it is used)."""
        if record.kind is RecordKind.TRACES:
            table, found = traces_payload_to_rows(record.payload, seen=seen_spans)
        elif record.kind is RecordKind.ASSESSMENTS:
            table, found = None, [AssessmentRecord(**item) for item in json.loads(record.payload)]
        else:
            raise ValueError(f"unknown WAL record kind {record.kind!r}")
        return table, found, assessments_to_table(found) if found else None

    def _summarize(
        self, span_parts: list[tuple[WalRecord, pa.Table]], seen_spans: set[tuple[str, str]]
    ) -> tuple[pa.Table | None, pa.Table | None, pa.Table | None]:
        """The chunk's span table, its partial trace summaries and its root notes (see
        ``SummaryCalculator.summarize_with_roots``). Should summarising fail on the data, each
        record's spans are summarised alone and the failing ones quarantined."""
        assert self._summaries is not None
        if not span_parts:
            return None, None, None
        spans = pa.concat_tables([table for _, table in span_parts])
        if not spans.num_rows:
            return spans, None, None
        try:
            return spans, *self._summaries.summarize_with_roots(spans)
        except _NOT_THE_RECORDS_FAULT:
            raise
        except Exception:  # noqa: BLE001 - find the record(s) at fault below
            logger.exception("Summarising a chunk of spans failed; checking record by record.")
        kept: list[pa.Table] = []
        for record, table in span_parts:
            try:
                if table.num_rows:
                    self._summaries.summarize_spans(table)
            except _NOT_THE_RECORDS_FAULT:
                raise
            except Exception as error:  # noqa: BLE001
                self._quarantine.add(record, error)
                seen_spans.difference_update(
                    zip(table.column("trace_id").to_pylist(), table.column("span_id").to_pylist())
                )
                continue
            kept.append(table)
        spans = pa.concat_tables(kept) if kept else None
        if spans is None or not spans.num_rows:
            return spans, None, None
        return spans, *self._summaries.summarize_with_roots(spans)

    def _drop_stored_spans(
        self, spans: pa.Table, partial: pa.Table, roots: pa.Table
    ) -> tuple[pa.Table, pa.Table | None]:
        """Keep span runs disjoint: leave out the chunk's spans that an earlier flush stored
        (a resent export). Without a usable index this cannot be checked cheaply; the flush
        then marks the spans as possibly repeated, and readers de-duplicate again."""
        assert self._summaries is not None
        checked = None
        if self._reads.usable:
            checked = self._reads.drop_stored_spans(
                spans, partial, roots, manifest=self._manifest_snapshot, summarize=self._summaries.summarize_with_roots
            )
        if checked is None:
            self._spans_unchecked = True
            return spans, partial
        return checked

    def _check_disjoint_spans(self) -> None:
        """Prove (one scan of the key columns, bounded memory) that no span is in two runs, so
        readers can stop de-duplicating: for a directory an older version wrote, and after
        flushes stored while the trace index was down (they could not be checked cheaply).
        Run by the compactor thread, never on the write path: at fifteen million spans the scan
        takes a minute. Once per batch of unchecked flushes, and not while more may come."""
        with self._manifest_lock:
            manifest = self._manifest
            unchecked = self._unchecked_flushes
        if manifest.disjoint_spans or not self._reads.usable or unchecked == self._duplicates_found_at:
            return
        try:
            with self._compaction_mutex:  # no swap moves a file away under the scan
                repeated = has_duplicate_spans(self.data_dir, manifest)
        except duckdb.OutOfMemoryException as error:
            logger.warning("Could not prove the span runs disjoint (%s); reads go on de-duplicating.",
                           str(error).splitlines()[0])
            self._duplicates_found_at = unchecked  # not again until more unchecked flushes
            return
        if repeated:
            logger.warning(
                "Some spans of %s are stored twice (resent exports the writer could not check, "
                "or written by an older version); reads de-duplicate them until a full "
                "compaction merges them.",
                self.data_dir,
            )
            self._duplicates_found_at = unchecked
            return

        def proven(updated: Manifest) -> None:
            # Not if a flush stored unchecked spans since the scan's snapshot (not scanned).
            if self._unchecked_flushes == unchecked:
                updated.disjoint_spans = True

        self._commit_manifest(proven)

    def _write_level0_file(
        self, table: pa.Table, layout: DatasetLayout, *, run: int
    ) -> DataFile | None:
        with self._manifest_lock:
            number = self._manifest.take_file_number()
        return write_table_file(
            table,
            layout,
            data_dir=self.data_dir,
            relative_path=data_file_name(layout, level=0, number=number),
            level=0,
            run=run,
            row_group_size=self._row_group_size,
            compression=_FLUSH_COMPRESSION,
        )

    def _compactor_loop(self) -> None:
        while True:
            self._compaction_wakeup.wait(timeout=self._compaction_interval)
            self._compaction_wakeup.clear()
            if self._stopping:
                return
            try:
                self._check_disjoint_spans()
                for layout in LAYOUTS.values():
                    self._compact_dataset(layout, full=False)
                self._delete_expired_retired_files()
                self._last_compaction_error = ""
            except Exception as error:
                if self._stopping:
                    return  # the merge was abandoned by ``close``; it runs again after a start
                # Logged once: the same failure again (every interval) would bury the log.
                if str(error) != self._last_compaction_error:
                    logger.exception("Compaction failed; the live files are unchanged. It is retried.")
                else:
                    logger.debug("Compaction failed again: %s", error)
                self._last_compaction_error = str(error)
                # Nothing to clean here: a failed merge deletes what it wrote (merge_worker.py)
                # and a failed swap its pending files (swap.py). A sweep of every unpublished
                # file would delete the one a flush is writing at this moment.

    def _compact_dataset(self, layout: DatasetLayout, *, full: bool) -> int:
        """Merge files of one dataset: the next tier of ``_files_to_merge``, or with ``full``
        every live file. Returns how many files were merged away.

        The trace index is built from the summary and assessment files, which span merges
        replace too (a run's summaries go with its spans): nothing is merged while a rebuild
        reads them, and no flushed file of a run the index does not hold yet
        (``_absorbed_files``)."""
        with self._compaction_mutex, self._reads.indexed_files_lock:
            if self._reads.rebuilding:
                return 0
            return self._compact_files(layout, full=full, absorbed_run=self._reads.absorbed_run)

    def _compact_files(self, layout: DatasetLayout, *, full: bool, absorbed_run: int) -> int:
        with self._manifest_lock:
            live = list(self._manifest.files[layout.name])
        live = _absorbed_files(live, absorbed_run)
        live = _readable_runs(self.data_dir, live)
        if full:
            chosen = live if len(live) > 1 else []
            level = max((f.level for f in live), default=0) + 1
        else:
            chosen, level = _files_to_merge(
                live, fan_in=self._fan_in, size=lambda f: (self.data_dir / f.path).stat().st_size
            )
        if not chosen:
            return 0

        file_bytes = _merge_file_bytes(level, self._fan_in)
        input_bytes = sum((self.data_dir / f.path).stat().st_size for f in chosen)
        if not full and not self._merge_fits_on_disk(input_bytes):
            return 0
        with self._manifest_lock:
            run = self._manifest.take_file_number()
            numbers = [
                self._manifest.take_file_number()
                for _ in range(
                    output_numbers_needed(layout.name, input_bytes, file_bytes, _MERGE_PARTITION_BYTES)
                )
            ]
        merged, summary = self._merger.merge(
            MergeRequest(
                dataset=layout.name,
                inputs=chosen,
                level=level,
                run=run,
                numbers=numbers,
                row_group_size=self._row_group_size,
                file_bytes=file_bytes,
                row_group_bytes=_MERGE_ROW_GROUP_BYTES,
                input_budget_bytes=_MERGE_INPUT_BUDGET_BYTES,
                max_fan_in=_MERGE_MAX_INPUTS,
                partition_bytes=_MERGE_PARTITION_BYTES,
                memory_limit=_MERGE_MEMORY_LIMIT,
            )
        )
        self._swap_in(layout, chosen, merged, summary)
        logger.info(
            "Compacted %d %s files into %d level-%d files (%d rows).",
            len(chosen), layout.name, len(merged), level, sum(f.rows for f in merged),
        )
        return len(chosen)

    def _swap_in(
        self,
        layout: DatasetLayout,
        chosen: list[DataFile],
        merged: list[DataFile],
        summary: DataFile | None,
    ) -> None:
        """Replace ``chosen`` by the pending ``merged`` files (and, for spans, their runs'
        summaries by ``summary``): inputs into ``_retired/``, merged files into place, then the
        manifest (swap.py gives the order and the crash rules). The manifest lock is held
        throughout, so a snapshot taken in this process always matches the files on disk: a
        reader whose older snapshot lost a file gets the new one when it asks again."""
        outputs = [*merged, *([summary] if summary else [])]
        try:
            with self._manifest_lock:
                replaced: list[DataFile] = []
                if layout is SPANS:
                    # A run's summaries go with its span files, in the same manifest.
                    runs = {f.run for f in chosen}
                    replaced = [
                        f for f in self._manifest.files[TRACE_SUMMARIES.name] if f.run in runs
                    ]

                def swap(manifest: Manifest) -> None:
                    every_run = {f.run for f in manifest.files[layout.name]} == {f.run for f in chosen}
                    manifest.replace(layout.name, chosen, merged)
                    if layout is SPANS and every_run:
                        manifest.disjoint_spans = True  # one merge of every run: unique by key
                    if layout is SPANS:
                        manifest.replace(
                            TRACE_SUMMARIES.name, replaced, [summary] if summary else []
                        )

                swap_files(
                    self.data_dir,
                    retiring=[f.path for f in (*chosen, *replaced)],
                    merged=[f.path for f in outputs],
                    publish=lambda: self._commit_manifest_locked(swap),
                )
        except BaseException:
            discard_pending(self.data_dir, [f.path for f in outputs])
            raise

    def _move_legacy_retired_files(self) -> None:
        """Move retired files a version without ``_retired/`` left in the globbed folders."""
        updated = move_legacy_retired(self.data_dir, self._manifest.retired)
        if updated is not None:
            logger.info("Moved retired files into the _retired folders, out of reach of globs.")

            def record(manifest: Manifest) -> None:
                manifest.retired = updated

            self._commit_manifest(record)

    def _merge_connection(self) -> duckdb.DuckDBPyConnection:
        """A private in-memory DuckDB (start-up's summary rebuild): bounded, spilling to tmp/."""
        return merge_connection(self.data_dir / _SPILL_DIR, _MERGE_MEMORY_LIMIT)

    def _delete_expired_retired_files(self, *, now: float | None = None) -> None:
        current = time.time() if now is None else now
        with self._manifest_lock:
            expired = [
                r for r in self._manifest.retired if current - r.retired_at >= self._retired_grace
            ]
            if not expired:
                return
            for retired in expired:
                (self.data_dir / retired.path).unlink(missing_ok=True)

        def forget(manifest: Manifest) -> None:
            manifest.retired = [r for r in manifest.retired if r not in expired]

        self._commit_manifest(forget)

    def _rewrite_older_summaries(self) -> None:
        """Rewrite summary files an older version wrote (uint64 columns, no timestamps; summary_upgrade.py)."""

        def publish(old: list[DataFile], new: list[DataFile]) -> None:
            self._commit_manifest(lambda manifest: manifest.replace(TRACE_SUMMARIES.name, old, new))

        rewrite_older_summaries(
            self.data_dir, self._manifest, take_file_number=self._manifest.take_file_number, publish=publish
        )

    def _summarize_runs_without_summaries(self) -> None:
        """Write trace summaries for span runs that have none (data written by an older
        version), so the ``traces`` view can read summaries for every run."""
        with self._manifest_lock:
            have = self._manifest.runs_with_summaries()
            missing: dict[int, list[DataFile]] = {}
            for data_file in self._manifest.files[SPANS.name]:
                if data_file.run not in have:
                    missing.setdefault(data_file.run, []).append(data_file)
        if not missing:
            return
        connection = self._merge_connection()
        try:
            for run, files in missing.items():
                logger.info("Writing trace summaries for %d older span files.", len(files))
                source = parquet_list_sql(self.data_dir, [f.path for f in files])
                table = connection.sql(spans_to_summaries_sql(source)).to_arrow_table()
                table = table.select(TRACE_SUMMARIES.schema.names).cast(TRACE_SUMMARIES.schema)
                summary = self._write_level0_file(table, TRACE_SUMMARIES, run=run)
                if summary is not None:
                    self._commit_manifest(
                        lambda manifest, file=summary: manifest.add(TRACE_SUMMARIES.name, file)
                    )
        finally:
            connection.close()

    def _take_directory_lock(self) -> None:
        fd = os.open(self.data_dir / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreLocked(
                f"Another collector is already writing to {self.data_dir}. Stop it, or start "
                "this one with a different --data directory. Readers (otel-feedback sql) do "
                "not need the lock."
            ) from None
        self._lock_fd = fd

    def _remove_unpublished_files(self) -> None:
        """Delete temporaries and files a crash left out of the manifest (never published)."""
        spill = self.data_dir / _SPILL_DIR
        if spill.is_dir():
            for leftover in spill.rglob("*"):  # tmp/merge/ too: the merge child's files
                if leftover.is_file():
                    leftover.unlink(missing_ok=True)
        known = {f.path for files in self._manifest.files.values() for f in files}
        known.update(r.path for r in self._manifest.retired)
        for layout in (*LAYOUTS.values(), TRACE_SUMMARIES):
            for path in (self.data_dir / layout.name).iterdir():
                relative = f"{layout.name}/{path.name}"
                if path.name.endswith(".tmp") or (
                    path.suffix == ".parquet" and relative not in known
                ):
                    logger.warning("Removing unpublished file %s (left by a crash or a failed write).", path)
                    path.unlink(missing_ok=True)
            for path in unlisted_retired_files(self.data_dir, self._manifest, layout.name):
                logger.warning("Removing %s: retired, and no longer listed in the manifest.", path)
                path.unlink(missing_ok=True)

    def _recover_wal(self) -> int:
        """Replay WAL segments not yet in Parquet; set damaged ones aside (after their intact
        records are stored). Returns the highest segment number seen.

        When the records cannot be stored now (a full disk), start-up goes on: the segments
        are handed to the writer thread, which retries until they are in Parquet.
        """
        wal_dir = self.data_dir / _WAL_DIR
        segments = list_segments(wal_dir)
        if not segments:
            return 0
        applied = self._manifest.wal_applied_through
        replay: list[WalRecord] = []
        to_store: list[Path] = []
        damaged: list[Path] = []
        for path in segments:
            if segment_number(path) <= applied:
                continue
            if path.stat().st_size == 0:
                logger.warning(
                    "Write-ahead log segment %s is empty (the collector stopped right after "
                    "creating it); removing it.", path,
                )
                continue
            reader = SegmentReader(path)
            replay.extend(reader)
            to_store.append(path)
            if reader.damage is not None:
                _log_damage(reader, wal_dir / _DAMAGED_DIR)
                damaged.append(path)
        last = segment_number(segments[-1])
        if replay:
            logger.info("Recovering %d write-ahead log records into Parquet.", len(replay))
            try:
                self._store_records(replay, wal_through=last)
            except Exception as error:
                logger.error(
                    "Could not store the %d recovered write-ahead log records in Parquet yet "
                    "(%s). They stay in the write-ahead log and the writer retries; free disk "
                    "space in %s.", len(replay), error, self.data_dir,
                )
                self._remove_orphans()
                self._unflushed_segments.extend(to_store)
                self._inflight_bytes += sum(path.stat().st_size for path in to_store)
                self._set_aside_after_flush.update(damaged)
                self._wal.release([path for path in segments if path not in to_store])
                return last
        else:
            try:
                self._commit_manifest(lambda manifest: _apply_through(manifest, last))
            except OSError as error:  # the segments below are empty or fully damaged anyway
                logger.warning("Could not record the replayed write-ahead log yet: %s", error)
        self._set_aside(damaged)
        self._wal.release([path for path in segments if path not in damaged])
        return last

    def _publish(self, new_files: list[tuple[str, DataFile]], *, wal_through: int) -> None:
        """Make a flush's files live and record the WAL segments they came from."""

        unchecked, self._spans_unchecked = self._spans_unchecked, False

        def add(manifest: Manifest) -> None:
            for name, data_file in new_files:
                manifest.add(name, data_file)
            _apply_through(manifest, wal_through)
            if unchecked:
                manifest.disjoint_spans = False
                self._unchecked_flushes += 1  # under the manifest lock, with the manifest

        self._commit_manifest(add)

    def _commit_manifest(self, change: Callable[[Manifest], None]) -> None:
        """Apply ``change`` to a copy of the manifest, write it, and only then make it current:
        a manifest that could not be written (disk full) never becomes what readers see, and
        the files it would have listed are removed as orphans."""
        with self._manifest_lock:
            self._commit_manifest_locked(change)

    def _commit_manifest_locked(self, change: Callable[[Manifest], None]) -> None:
        """``_commit_manifest`` for a caller that holds the manifest lock already."""
        updated = Manifest.from_json(self._manifest.to_json())
        change(updated)
        write_manifest(self.data_dir, updated)
        self._manifest = updated

    def _remove_orphans(self) -> None:
        """After a failed flush (or WAL replay): delete the files it wrote but never published,
        so a full disk is not kept full by them. Holds the compaction mutex, so no merge is
        writing; only the writer thread calls it, so no flush is either."""
        try:
            with self._compaction_mutex, self._manifest_lock:
                self._remove_unpublished_files()
        except OSError as error:
            logger.warning("Could not remove unpublished files: %s", error)

    def _set_aside(self, damaged: list[Path]) -> None:
        """Move damaged segments (their intact records already stored) into wal/damaged/."""
        if not damaged:
            return
        aside = self.data_dir / _WAL_DIR / _DAMAGED_DIR
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for path in damaged:
            try:
                aside.mkdir(exist_ok=True)
                os.replace(path, aside / f"{path.name}.{stamp}")
            except OSError as error:  # no inode left for the folder: do not stop for it
                logger.error("Could not keep damaged segment %s aside in %s: %s", path, aside, error)


def _apply_through(manifest: Manifest, wal_through: int) -> None:
    manifest.wal_applied_through = max(manifest.wal_applied_through, wal_through)


def _log_damage(reader: SegmentReader, aside: Path) -> None:
    logger.error(
        "WRITE-AHEAD LOG DAMAGED: %s: %d intact records kept; %d bytes in %d damaged "
        "stretch(es) set aside (%s). The file is kept in %s for inspection.",
        reader.path, reader.records_read, reader.skipped_bytes, reader.damaged_stretches,
        reader.damage, aside,
    )


def _first_of_each(found: list[AssessmentRecord], new: list[bool]) -> list[bool]:
    """Of the rows marked new, keep the first of each assessment id."""
    kept: set[str] = set()
    mask = []
    for assessment, is_new in zip(found, new):
        keep = is_new and assessment.assessment_id not in kept
        if keep:
            kept.add(assessment.assessment_id)
        mask.append(keep)
    return mask


def _absorbed_files(live: list[DataFile], absorbed_run: int) -> list[DataFile]:
    """``live`` without the flushed files of runs the trace index does not hold yet. Merged,
    their rows would be in a file of a higher level, which the index counts as held: a crash
    before the flush's add, and the next start would not know to add them (trace_index.py)."""
    return [f for f in live if f.level > 0 or f.run <= absorbed_run]


def _readable_runs(data_dir: Path, live: list[DataFile]) -> list[DataFile]:
    """``live`` without the runs that hold a file whose footer cannot be read: merging would
    fail on it every time (the views already leave it out, loudly), and a run's trace
    summaries describe all of its files, so the whole run stays as it is."""
    spoiled = {f.run for f in live if unreadable_reason(data_dir / f.path) is not None}
    return [f for f in live if f.run not in spoiled]


def _files_to_merge(
    live: list[DataFile],
    *,
    fan_in: int,
    max_inputs: int = _MERGE_MAX_INPUTS,
    max_bytes: int = _MERGE_MAX_INPUT_BYTES,
    size: Callable[[DataFile], int] = lambda data_file: 0,
) -> tuple[list[DataFile], int]:
    """The next background merge (size-tiered): flushed (level-0) files once there are
    ``fan_in`` of them, into level 1; the runs of a level ``n >= 1`` once it holds ``fan_in``
    runs, into level ``n + 1``. Returns the files and their new level.

    Each level's runs hold about ``fan_in`` times the spans of the level below, so the live
    runs stay fewer than ``fan_in`` per level, a few levels in all (the file count grows with
    the logarithm of the data), and each span is rewritten once per level. Of several full
    levels the fullest (relative to ``fan_in``) goes first, the lower one on a tie: a writer
    that is behind keeps level 0 full, and merging level 0 first every time would leave the
    runs above unmerged for as long as that lasts. Whole runs are merged (a run's trace
    summaries describe all of its files), the oldest first, as many as the merge reads at
    once (``max_inputs``: flushed files, or runs of higher levels, whose files are read one
    after the other; always at least one run): more would first be merged in groups into
    temporary files, writing every span one more time.

    One merge reads at most ``max_bytes`` (``size`` gives a file's bytes): the merge child
    does one merge at a time, and a merge of many GB ran for minutes while hundreds of
    flushed files piled up behind it. A run larger than ``max_bytes / fan_in`` is therefore
    final (it could only be merged with fewer than ``fan_in`` others): it stays at its level
    and does not count towards that level's fan-in. Past that size the run count grows with
    the data instead of its logarithm (a few tens of files at ten million spans).
    """
    candidates: list[tuple[float, int, list[DataFile]]] = []
    flushed = [data_file for data_file in live if data_file.level == 0]
    if len(flushed) >= fan_in:
        chosen = _oldest_runs(flushed, max_inputs, cost=lambda files: len(files))
        candidates.append((len(flushed) / fan_in, 0, chosen))
    largest_run = max_bytes // fan_in
    for level in sorted({f.level for f in live if f.level > 0}):
        runs = _by_run([f for f in live if f.level == level])
        open_runs = [files for files in runs.values() if sum(size(f) for f in files) <= largest_run]
        if len(open_runs) >= fan_in:
            files = [data_file for run_files in open_runs for data_file in run_files]
            chosen = _oldest_runs(files, max_inputs, cost=lambda files: 1, max_bytes=max_bytes, size=size)
            candidates.append((len(open_runs) / fan_in, level, chosen))
    if not candidates:
        return [], 0
    _, level, chosen = max(candidates, key=lambda item: (item[0], -item[1]))
    return chosen, level + 1


def _by_run(files: list[DataFile]) -> dict[int, list[DataFile]]:
    """``files`` grouped by run, in run (creation) order."""
    by_run: dict[int, list[DataFile]] = {}
    for data_file in sorted(files, key=lambda f: f.run):
        by_run.setdefault(data_file.run, []).append(data_file)
    return by_run


def _oldest_runs(
    files: list[DataFile],
    budget: int,
    *,
    cost: Callable[[list[DataFile]], int],
    max_bytes: int | None = None,
    size: Callable[[DataFile], int] = lambda data_file: 0,
) -> list[DataFile]:
    """The files of the oldest runs whose summed ``cost`` fits ``budget`` and whose summed
    ``size`` fits ``max_bytes`` (at least one run)."""
    chosen: list[DataFile] = []
    spent = 0
    read = 0
    for run_files in _by_run(files).values():
        run_bytes = sum(size(f) for f in run_files)
        if chosen and (
            spent + cost(run_files) > budget or (max_bytes is not None and read + run_bytes > max_bytes)
        ):
            break
        chosen.extend(run_files)
        spent += cost(run_files)
        read += run_bytes
    return chosen


def _merge_file_bytes(level: int, fan_in: int) -> int:
    """Output file size of a merge into ``level``: larger as levels hold more (so the file
    count stays small), up to a bound (a lookup skips a file's other row groups anyway)."""
    return min(_SPAN_FILE_BYTES * fan_in ** max(0, level - 1), _MERGE_MAX_FILE_BYTES)
