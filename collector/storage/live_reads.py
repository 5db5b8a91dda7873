"""How the running collector reads its own data fast: long-lived views and the trace index.

A new DuckDB connection per request (views created, footers read, the ``traces`` view
combining every run's partial summaries, spans de-duplicated across runs) cost most of a second
per answer at a million spans. Here instead:

* One DuckDB database (the trace index file, trace_index.py) serves every read. Its views over
  the live Parquet files are replaced only when the manifest changes, and each request takes a
  cursor of it, so Parquet footers are read once per file (``parquet_metadata_cache``), not
  once per request.
* The ``traces`` view reads the index table: one combined row per trace.
* The ``spans`` view is a plain union: the writer keeps runs disjoint on (trace_id, span_id)
  by dropping, at flush time, the spans already stored (:meth:`LiveReads.drop_stored_spans`),
  so no read de-duplicates spans.

The index never holds storage up. A start after a crash reuses it and adds the one flush it may
lack (trace_index.py). When it must be rebuilt (missing, damaged, another layout, or it failed
while running: a full disk while adding a flush), it is rebuilt in a background thread while the
collector receives and stores as usual: at ten million spans a rebuild takes minutes, which
before session 13 were minutes of start-up with the port closed (188 s at fifteen million), or
of a writer stopped. Meanwhile reads use the Parquet views (``views.create_views`` without the
index: slower, same rows) in one in-memory database with a bounded memory, and flushes store
spans without the cheap check that they are new (the manifest then says runs may repeat a span
until a check proves otherwise). The rebuild reads a snapshot of the files; the flushes
published since are then added (:meth:`TraceIndex.catch_up`), the last few by the writer
thread between two flushes, and reads switch back to the index.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from otel_feedback_collector.storage.datasets import (
    ASSESSMENTS,
    SPANS,
    TRACE_SUMMARIES,
    parquet_list_sql,
    parquet_paths_sql,
)
from otel_feedback_collector.storage.file_traces import may_hold, stop_warming, trace_number
from otel_feedback_collector.storage.file_traces import warm as warm_file_traces
from otel_feedback_collector.storage.manifest import Manifest
from otel_feedback_collector.storage.moved_files import retry_after_refresh
from otel_feedback_collector.storage.readable_files import readable_manifest
from otel_feedback_collector.storage.trace_index import (
    INDEX_FILE_NAME,
    ROOT_TEXT_LIMIT_BYTES,
    TraceIndex,
    ROOTS_SCHEMA,
    add_assessments_sql,
    insert_sql,
    overlapping_traces_sql,
    recompute_from_spans,
)
from otel_feedback_collector.storage.trace_summaries import merge_summaries_sql
from otel_feedback_collector.storage.views import create_views, open_read_connection

logger = logging.getLogger("otel_feedback_collector.storage")

_POOL_SIZE = 8
# Errors that mean the index database itself broke (not a query's or a file's problem).
_INDEX_FAILURES = (duckdb.ConnectionException, duckdb.FatalException, duckdb.InternalException)
_REBUILD_MEMORY = "256MB"
# Memory of the database that serves reads while the index is down (the Parquet views: every
# read combines the runs' partial summaries; it spills to the data directory's tmp/ beyond).
# One database for all of them: a database per request, each allowed most of the machine's
# memory, took the collector to 2.6 GB at fourteen million spans.
_FALLBACK_MEMORY = "128MB"
_FALLBACK_SCRATCH_DIR = "tmp/reads"
# Memory of the scan that proves span runs disjoint (``has_duplicate_spans``; it spills beyond).
_KEY_SCAN_MEMORY = "128MB"
# A rebuild that failed is tried again after this many seconds, doubled after each further
# failure up to the second bound (a full disk fails it until room is made).
_REBUILD_RETRY = 5.0
# Flushes added to the index per transaction when it catches up (see ``_catch_up``).
_CATCH_UP_RUNS = 16
_REBUILD_RETRY_MAX = 300.0


class LiveReads:
    """The read side of one open ``SpanStore``: cursors over current views, the trace index."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._index = TraceIndex(data_dir / INDEX_FILE_NAME)
        self._usable = False  # the index matches every published flush
        # The largest flush run the index holds (trace_index.py); compaction leaves flushed
        # summary and assessment files of later runs alone (``absorbed_run``).
        self._absorbed_run = 0
        self._rebuild: _Rebuild | None = None  # running or finished, not yet taken over
        self._next_rebuild = 0.0  # monotonic time before which no rebuild starts (after a failure)
        self._rebuild_retry = _REBUILD_RETRY
        # Idle cursors whose views match ``_pool_manifest`` (the manifest object they were
        # built for; a manifest change replaces the object, so ``is`` tells them apart).
        self._pool: list[duckdb.DuckDBPyConnection] = []
        self._pool_manifest: Manifest | None = None
        self._pool_lock = threading.Lock()
        self._fallback: duckdb.DuckDBPyConnection | None = None  # reads while the index is down
        # A read without the index ran out of memory or time (store.py): the data is too large
        # for them, so reads are refused at once until the index is back.
        self.fallback_gave_up = False
        # Held by a merge of summary or assessment files (store.py) and taken by a rebuild
        # before it lists the files it reads: the merge in progress ends first, and the
        # next ones wait for the rebuild (``rebuilding``).
        self.indexed_files_lock = threading.Lock()
        self._flush_roots: list[pa.Table] = []  # root spans' bodies of the flush in progress

    @property
    def usable(self) -> bool:
        """True when reads use the index (False after it failed, until it is rebuilt)."""
        return self._usable

    @property
    def absorbed_run(self) -> int:
        """Flushed (level-0) summary and assessment files of runs above this are not in the
        index yet: compaction must not merge them (it would hide them from a catch-up)."""
        return self._absorbed_run

    @property
    def rebuilding(self) -> bool:
        """True while a rebuild reads the summary and assessment files (they must stay put)."""
        return self._rebuild is not None

    def open(self, manifest: Manifest) -> None:
        """Open the index and add the flushed files it lacks (after a crash: the last flush).
        When it must be rebuilt, or it fails (a full disk), reads use the Parquet views and
        :meth:`repair` rebuilds it in the background.
        The live span files' trace numbers are learned in the background from now on, not at
        the first read: until then every lookup reads every file (111 against 78 ms at ten
        million spans, and a collector that receives nothing new would never learn them)."""
        try:
            absorbed = self._index.open(
                wal_applied_through=manifest.wal_applied_through,
                newest_run=manifest.next_file_number - 1,
                rebuild=None,
            )
            if absorbed is not None:
                self._absorbed_run = self._catch_up(manifest, after=absorbed)
                self._usable = True
            elif not any(manifest.files[layout.name] for layout in (TRACE_SUMMARIES, ASSESSMENTS)):
                self._index.record_absorbed(run=manifest.next_file_number - 1, through=manifest.wal_applied_through)
                self._absorbed_run = manifest.next_file_number - 1
                self._usable = True  # nothing to read: a new directory's index is empty
            else:
                logger.info("The trace index is rebuilt in the background; until then reads use the Parquet files.")
        except (duckdb.Error, OSError) as error:
            logger.warning("The trace index is not available yet (%s); reading the Parquet summaries.", error)
            self._index.close(wal_applied_through=None)
        warm_file_traces([self.data_dir / f.path for f in manifest.files[SPANS.name]])

    def close(self, *, wal_applied_through: int) -> None:
        """Close the index (a rebuild in progress is abandoned); it is reused at the next
        start if it matched the data."""
        stop_warming()
        if self._rebuild is not None:
            self._rebuild.stop(self._index)
            self._rebuild = None
        self._drop_pool()
        self._index.close(wal_applied_through=wal_applied_through if self._usable else None)
        self._usable = False
        if self._fallback is not None:
            _close_quietly(self._fallback)
            self._fallback = None

    def _catch_up(
        self, manifest: Manifest, *, after: int, progress: Callable[[int], None] | None = None
    ) -> int:
        """Add ``manifest``'s flushed summary and assessment files of runs above ``after`` to
        the index, up to ``_CATCH_UP_RUNS`` flushes per transaction (``progress`` is told the
        run each one reached); returns the largest run it then holds. Called when no flush is
        being published, or with files of published flushes only (their runs are below any
        later flush's). After a rebuild of ten million spans there were 568 files to add, and
        one transaction over them all ran out of the index's memory."""
        files = [
            (layout.name, f)
            for layout in (TRACE_SUMMARIES, ASSESSMENTS)
            for f in manifest.files[layout.name]
            if f.level == 0 and f.run > after
        ]
        runs = sorted({f.run for _, f in files})
        if not runs:
            return after
        logger.info("Adding %d flushed files to the trace index.", len(files))
        # Flushes stored while the index was down were not checked for spans stored before.
        spans = None if manifest.disjoint_spans else self._span_files(manifest)
        for start in range(0, len(runs), _CATCH_UP_RUNS):
            batch = set(runs[start : start + _CATCH_UP_RUNS])
            sources = {
                layout.name: [f.path for name, f in files if name == layout.name and f.run in batch]
                for layout in (TRACE_SUMMARIES, ASSESSMENTS)
            }
            self._index.catch_up(
                *(parquet_list_sql(self.data_dir, paths) if paths else None for paths in sources.values()),
                run=max(batch),
                through=manifest.wal_applied_through,
                spans=spans,
            )
            after = max(batch)
            if progress is not None:
                progress(after)
        return after

    # -- reading -----------------------------------------------------------------------------

    def cursor(self, manifest: Manifest) -> duckdb.DuckDBPyConnection:
        """A connection with the four views over ``manifest``, for one request in one thread;
        close it afterwards. It is a cursor of the index database: creating it and its
        (temporary) views costs about a millisecond, and the Parquet footers it reads stay
        cached for the next request."""
        if self._usable:
            try:
                connection = self._index.cursor()
            except (duckdb.Error, RuntimeError) as error:
                self._fail(error)
            else:
                try:
                    create_views(connection, self.data_dir, manifest, indexed=True)
                    return connection
                except _INDEX_FAILURES as error:
                    _close_quietly(connection)
                    self._fail(error)
                except BaseException:
                    _close_quietly(connection)
                    raise
        connection = self._fallback_cursor()
        try:
            create_views(connection, self.data_dir, manifest)
        except BaseException:
            _close_quietly(connection)
            raise
        return connection

    def _fallback_cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of the database that serves reads while the index is down."""
        with self._pool_lock:
            if self._fallback is None:
                self._fallback = open_read_connection(
                    memory_limit=_FALLBACK_MEMORY, spill_dir=self.data_dir / _FALLBACK_SCRATCH_DIR
                )
            return self._fallback.cursor()

    @contextlib.contextmanager
    def reading(self, manifest: Manifest) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor with the views over ``manifest`` for the ``with`` block, taken from a
        pool of idle ones (views are built once per manifest change, not per request)."""
        connection: duckdb.DuckDBPyConnection | None = None
        with self._pool_lock:
            if self._pool_manifest is not manifest:
                stale, self._pool = self._pool, []
                self._pool_manifest = manifest
                # New span files (a flush, a compaction): learn their traces before a
                # lookup needs them.
                warm_file_traces([self.data_dir / f.path for f in manifest.files[SPANS.name]])
            else:
                stale = []
                if self._pool:
                    connection = self._pool.pop()
        for old in stale:
            _close_quietly(old)
        if connection is None:
            connection = self.cursor(manifest)
        try:
            yield connection
        except BaseException:
            _close_quietly(connection)
            raise
        with self._pool_lock:
            if self._pool_manifest is manifest and len(self._pool) < _POOL_SIZE and self._usable:
                self._pool.append(connection)
                return
        _close_quietly(connection)

    def _drop_pool(self) -> None:
        with self._pool_lock:
            stale, self._pool, self._pool_manifest = self._pool, [], None
        for old in stale:
            _close_quietly(old)

    # -- writing (the store's writer thread) ---------------------------------------------------

    def drop_stored_spans(
        self,
        spans: pa.Table,
        partials: pa.Table,
        roots: pa.Table,
        *,
        manifest: Callable[[], Manifest],
        summarize: Callable[[pa.Table], tuple[pa.Table, pa.Table | None]],
    ) -> tuple[pa.Table, pa.Table | None] | None:
        """``spans`` (one flush chunk) without the spans already stored, and their partial
        summaries; ``roots`` are the chunk's root notes (``ROOT_NOTE_SCHEMA``), kept for
        :meth:`add` (those of the spans kept). Only traces whose stored span-id bits overlap
        the chunk's are looked up in Parquet; for the rest disjoint bits prove nothing is
        stored twice. None when the index failed (it cannot be checked cheaply then; the
        caller stores the chunk unchecked)."""
        try:
            suspects = self._index.traces_that_may_hold(partials)
        except (duckdb.Error, RuntimeError) as error:
            self._fail(error)
            return None
        if not suspects:
            self._note_roots(roots)
            return spans, partials

        def stored_keys() -> list[tuple[str]]:
            current = manifest()
            connection = self.cursor(current)
            try:
                connection.register("_suspects", pa.table({"trace_id": pa.array(suspects, pa.string())}))
                return connection.execute(
                    f"SELECT trace_id || '/' || span_id FROM {self._files_holding(current, suspects)} "
                    "WHERE trace_id IN (SELECT trace_id FROM _suspects)"
                ).fetchall()
            finally:
                connection.close()

        # A compaction may move a file away while this reads: then once more, on the new files.
        try:
            stored = retry_after_refresh(stored_keys, lambda: None)
        except duckdb.OutOfMemoryException as error:
            # Storage must go on: the chunk is stored unchecked, as while the index is down
            # (the compactor checks every key later; reads de-duplicate until then).
            logger.warning("Could not check %d resent traces against the stored spans (%s); stored unchecked.",
                           len(suspects), str(error).splitlines()[0])
            return None
        if not stored:
            self._note_roots(roots)
            return spans, partials
        keys = pc.binary_join_element_wise(spans["trace_id"], spans["span_id"], "/")
        fresh = pc.invert(pc.is_in(keys, value_set=pa.array([row[0] for row in stored])))
        kept = spans.filter(fresh)
        logger.info("Dropped %d spans that were already stored (a resent export).", spans.num_rows - kept.num_rows)
        if kept.num_rows == 0:
            return kept, None
        kept_partials, kept_roots = summarize(kept)
        if kept_roots is not None:
            self._note_roots(kept_roots)
        return kept, kept_partials

    def _files_holding(self, manifest: Manifest, trace_ids: list[str]) -> str:
        """A source of the span files that may hold any of ``trace_ids`` (file_traces.py: a
        resent batch is in a few of the hundreds of files at ten million spans, and reading
        the keys of every file ran out of the index's memory); the ``spans`` view when a file
        cannot be told apart by number, or none may hold them."""
        numbers = {trace_number(trace_id) for trace_id in trace_ids}
        if not numbers or None in numbers:
            return "spans"
        paths = [
            path
            for path in (self.data_dir / f.path for f in manifest.files[SPANS.name])
            if any(may_hold(path, number) for number in numbers)
        ]
        return parquet_paths_sql([str(path) for path in paths]) if paths else "spans"

    def stored_assessment_ids(self, ids: list[str], *, manifest: Callable[[], Manifest]) -> set[str]:
        """Which of ``ids`` are stored already (a resent assessment), so a flush leaves them
        out and no id is in two assessment files. Reads the index's assessment log (one row
        per id); without a usable index, the Parquet files' (the same ids, slower)."""
        if not ids:
            return set()

        def stored() -> set[str]:
            connection = self.cursor(manifest())
            try:
                rows = connection.execute(
                    "SELECT DISTINCT assessment_id FROM assessment_log WHERE list_contains(?, assessment_id)", [ids]
                ).fetchall()
            finally:
                connection.close()
            return {row[0] for row in rows}

        # A compaction may move a file away while this reads: then once more, on the new files.
        try:
            return retry_after_refresh(stored, lambda: None)
        except (duckdb.Error, RuntimeError) as error:
            if not self._usable:
                raise  # the Parquet files failed: the flush fails and is retried
            self._fail(error)  # the index broke: ask the Parquet files
        return retry_after_refresh(stored, lambda: None)

    def start_flush(self) -> None:
        """Forget the roots noted by a flush that did not finish (it is retried whole)."""
        self._flush_roots.clear()

    def _note_roots(self, roots: pa.Table) -> None:
        """Note, per trace of a chunk about to be stored, its latest span start and its root
        span's start, input and output (``ROOTS_SCHEMA``; the texts only up to the index's
        limit), for :meth:`add`."""
        if roots.num_rows == 0:
            return
        for name in ("root_request", "root_response"):
            roots = roots.set_column(roots.schema.get_field_index(name), name, _capped(roots[name]))
        self._flush_roots.append(roots.cast(ROOTS_SCHEMA))

    def read_assessments(self, paths: list[str]) -> pa.Table | None:
        """The rows of a flush's assessment files (relative paths), for :meth:`add`; None
        when there are none or the index is not in use."""
        if not paths or not self._usable:
            return None
        return pa.concat_tables([pq.read_table(self.data_dir / path) for path in paths])

    def add(self, summaries: pa.Table | None, assessments: pa.Table | None, *, run: int, through: int) -> None:
        """Add a published flush's partial summaries and assessment rows to the index, with
        the flush's ``run`` and the WAL segment it applied ``through``. A failure (a full
        disk) switches reads to the Parquet views until :meth:`repair` rebuilds the index."""
        if not self._usable:
            self._flush_roots.clear()
            return
        roots = pa.concat_tables(self._flush_roots) if self._flush_roots else None
        self._flush_roots.clear()
        try:
            self._index.add(summaries, assessments, roots, run=run, through=through)
        except (duckdb.Error, OSError, RuntimeError) as error:
            self._fail(error)
            return
        self._absorbed_run = run

    def _fail(self, error: BaseException) -> None:
        """The index failed (a full disk, an invalidated database): read the Parquet views
        until :meth:`repair` has rebuilt it."""
        if self._usable:
            logger.error("The trace index failed (%s); reading the Parquet files until it is rebuilt.", error)
        self._usable = False
        self._drop_pool()

    def repair(self, manifest: Callable[[], Manifest]) -> bool:
        """Rebuild a failed or missing index without holding the writer up. Called by the
        writer thread between flushes (so ``manifest()`` lists every flush begun so far):
        starts a rebuild in the background, and once it is done adds the flushes published
        since and switches reads to the index. True when reads switched now."""
        if self._usable:
            return False
        rebuild = self._rebuild
        if rebuild is None:
            if time.monotonic() >= self._next_rebuild:
                # No flush runs now: every flush so far has a run up to the last number taken.
                self._rebuild = _Rebuild(self, manifest, newest_run=manifest().next_file_number - 1)
            return False
        if not rebuild.done or time.monotonic() < self._next_rebuild:
            return False
        if rebuild.recorded:
            # The tables hold the snapshot and what the rebuild added since: the rest here.
            try:
                self._absorbed_run = self._catch_up(manifest(), after=rebuild.absorbed, progress=rebuild.reached)
            except (duckdb.Error, OSError) as error:
                # The rebuilt tables stand (their state says what they hold): only the
                # catch-up is tried again, later; compaction keeps waiting (``rebuilding``).
                self._absorbed_run = rebuild.absorbed
                logger.error("Adding the latest flushes to the rebuilt trace index failed (%s); tried again in "
                             "%.0f s.", error, self._retry_later())
                return False
        self._rebuild = None
        if rebuild.error is not None:
            logger.error(
                "Rebuilding the trace index failed (%s); reads use the Parquet files, and it is "
                "tried again in %.0f s.", rebuild.error, self._retry_later(),
            )
            self._index.close(wal_applied_through=None)
            return False
        self._rebuild_retry = _REBUILD_RETRY
        self._usable = True
        self.fallback_gave_up = False
        self._drop_pool()  # the fallback's cursors: the next reads take the index's
        logger.info("The trace index is rebuilt (%.1f s); reads use it again.", rebuild.seconds)
        return True

    def _retry_later(self) -> float:
        """Put the next attempt off (5 s, doubled each time up to 5 minutes); returns the delay."""
        delay = self._rebuild_retry
        self._next_rebuild = time.monotonic() + delay
        self._rebuild_retry = min(2 * delay, _REBUILD_RETRY_MAX)
        return delay

    def _fill(self, connection: duckdb.DuckDBPyConnection, manifest: Manifest) -> None:
        """Fill the empty index table from the manifest's Parquet summaries. Traces whose
        partials may share a span (a directory written before runs were kept disjoint) are
        summarised again from their de-duplicated spans."""
        # (Finding and combining split traces, and sorting, need more memory than reads do:
        # allowed for the rebuild alone, which spills to disk beyond it.)
        connection.execute(f"SET memory_limit = '{_REBUILD_MEMORY}'")
        try:
            self._fill_tables(connection, manifest)
        finally:
            connection.execute(f"SET memory_limit = '{self._index.memory_limit}'")

    def _fill_tables(self, connection: duckdb.DuckDBPyConnection, manifest: Manifest) -> None:
        assessment_files = [f.path for f in manifest.files[ASSESSMENTS.name]]
        if assessment_files:
            add_assessments_sql(connection, parquet_list_sql(self.data_dir, assessment_files))
        # Rows go in in start-time order, as flushes append them: "the newest" rows must sit
        # together at the table's end (views.py fetches a page's rows by their row range, and
        # the newest-first listings skip row groups by their start times). A merged summary
        # file is in trace-id order, random in time, so the rows are sorted here (spilling
        # beyond the rebuild's memory): read in file order, a rebuild after a crash left the
        # newest 50 at 150-230 ms instead of ~30 at a million spans, until the next rebuild.
        files = [f.path for f in manifest.files[TRACE_SUMMARIES.name]]
        if not files:
            return
        source = parquet_list_sql(self.data_dir, files)
        # Most traces have one partial: copy those; combine only the others (a GROUP BY with
        # string aggregates over every trace would need far more memory).
        connection.execute(
            f"CREATE OR REPLACE TEMP TABLE _split AS SELECT trace_id FROM {source} GROUP BY trace_id HAVING count(*) > 1"
        )
        connection.execute("SET preserve_insertion_order = true")
        single = f"(SELECT * FROM {source} WHERE trace_id NOT IN (SELECT trace_id FROM _split))"
        combined = f"({merge_summaries_sql(f'(SELECT * FROM {source} WHERE trace_id IN (SELECT trace_id FROM _split))')})"
        rows = f"(SELECT *, {_START_KEY} AS _key FROM ({single} UNION ALL {combined}))"
        # Sorted a slice of start times at a time: one sort of every row (3.3M at 10M spans)
        # failed for memory ("failed to pin block") and left reads on the Parquet views.
        for condition in _start_slices(connection, source, "_key"):
            connection.execute(
                insert_sql(f"(SELECT * EXCLUDE (_key) FROM {rows} WHERE {condition} ORDER BY _key, trace_id)")
            )
        connection.execute("DROP TABLE _split")
        connection.execute("RESET preserve_insertion_order")
        if manifest.disjoint_spans or len({f.run for f in manifest.files[SPANS.name]}) < 2:
            return
        recompute_from_spans(connection, overlapping_traces_sql(source), self._span_files(manifest))

    def _span_files(self, manifest: Manifest) -> str:
        """A source over every live span file of ``manifest``, with ``filename``."""
        return parquet_list_sql(self.data_dir, [f.path for f in manifest.files[SPANS.name]], filename=True)


class _Rebuild:
    """A rebuild of the index in a thread of its own: the tables are filled from the summary
    files of a snapshot of the manifest, then the flushes published while that ran are added;
    the writer thread adds the last ones (:meth:`LiveReads.repair`). Compaction leaves the
    summary and assessment files alone meanwhile (:attr:`LiveReads.rebuilding`)."""

    def __init__(self, reads: LiveReads, manifest: Callable[[], Manifest], *, newest_run: int) -> None:
        self.absorbed = newest_run  # the largest flush run the rebuilt tables hold
        self.recorded = False  # the index file says so (``record_absorbed`` succeeded)
        self.error: BaseException | None = None
        self.seconds = 0.0
        self._stopping = False
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(reads, manifest), name="otel-feedback-index-rebuild", daemon=True
        )
        self._thread.start()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def reached(self, run: int) -> None:
        """The rebuilt tables hold every flush up to ``run`` (a catch-up's progress)."""
        self.absorbed = run

    def _run(self, reads: LiveReads, manifest: Callable[[], Manifest]) -> None:
        started = time.monotonic()
        try:
            with reads.indexed_files_lock:  # a merge of them in progress ends first
                snapshot = manifest()
            # Every flush up to ``newest_run`` was published before the snapshot; so was every
            # later one whose flushed files it lists (flushes are published in run order, and
            # no merge took such files: merges wait while ``rebuilding``). Later flushes have
            # higher runs and are added afterwards.
            self.absorbed = max(
                [self.absorbed]
                + [f.run for layout in (TRACE_SUMMARIES, ASSESSMENTS) for f in snapshot.files[layout.name] if f.level == 0]
            )
            reads._index.open(
                wal_applied_through=snapshot.wal_applied_through,
                newest_run=self.absorbed,
                # Without the files that cannot be read (logged; the views leave them out too):
                # one would fail every rebuild, and compaction waits for the index.
                rebuild=lambda connection: reads._fill(connection, readable_manifest(reads.data_dir, snapshot)),
                force_rebuild=True,
            )
            reads._index.record_absorbed(run=self.absorbed, through=snapshot.wal_applied_through)
            self.recorded = True
        except BaseException as error:  # noqa: BLE001 - reported by ``repair`` on the writer thread
            self.error = error
            self.seconds = time.monotonic() - started
            self._done.set()
            return
        try:
            if not self._stopping:
                # What was published while the tables filled (minutes at ten million spans):
                # added here, so the writer thread has little left to add.
                reads._catch_up(manifest(), after=self.absorbed, progress=self.reached)
        except BaseException as error:  # noqa: BLE001 - the writer thread adds what is left
            logger.warning("Adding the flushes stored during the trace index's rebuild failed (%s); "
                           "the writer adds them.", error)
        finally:
            self.seconds = time.monotonic() - started
            self._done.set()

    def stop(self, index: TraceIndex) -> None:
        """Abandon the rebuild (the collector stops): interrupt its statements until it ends."""
        self._stopping = True
        while not self._done.wait(timeout=0.05):
            try:
                index.interrupt()
            except duckdb.Error:
                pass


# A trace's start as the index orders it (its combined summary's, see trace_summaries.py).
_START_KEY = "coalesce(step_start_time_unix_nano, any_start_time_unix_nano)"
# Summary rows sorted at once by a rebuild (a few hundred bytes to a few KB each).
_ROWS_PER_SORT = 250_000


def _start_slices(connection: duckdb.DuckDBPyConnection, source: str, key: str) -> list[str]:
    """SQL conditions on ``key`` (the start of a row of ``source``'s partial summaries,
    combined or not) that split them into consecutive ranges of start times of about
    ``_ROWS_PER_SORT`` rows each, in order, then the rows with no start. Every row meets
    exactly one."""
    (count,) = connection.execute(f"SELECT count(*) FROM {source}").fetchone()
    parts = max(1, -(-count // _ROWS_PER_SORT))
    cuts: list[int] = []
    if parts > 1:
        quantiles = [index / parts for index in range(1, parts)]
        (found,) = connection.execute(
            f"SELECT quantile_disc({_START_KEY}, ?::DOUBLE[]) FROM {source}", [quantiles]
        ).fetchone()
        cuts = sorted({int(cut) for cut in (found or []) if cut is not None})
    lows: list[int | None] = [None, *cuts]
    highs: list[int | None] = [*cuts, None]
    ranges = [
        " AND ".join(
            [f"{key} IS NOT NULL"]
            + ([f"{key} >= {low}"] if low is not None else [])
            + ([f"{key} < {high}"] if high is not None else [])
        )
        for low, high in zip(lows, highs)
    ]
    return [*ranges, f"{key} IS NULL"]


def has_duplicate_spans(data_dir: Path, manifest: Manifest) -> bool:
    """Whether a span key is in two live span runs (one scan of the key columns)."""
    files = manifest.files[SPANS.name]
    if len({f.run for f in files}) < 2:
        return False
    # Every key of every span: bounded, spilling beyond (fifteen million keys need ~1 GB).
    connection = open_read_connection(memory_limit=_KEY_SCAN_MEMORY, spill_dir=data_dir / _FALLBACK_SCRATCH_DIR)
    try:
        source = parquet_list_sql(data_dir, [f.path for f in files])
        row = connection.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {source} GROUP BY trace_id, span_id HAVING count(*) > 1)"
        ).fetchone()
    finally:
        connection.close()
    return bool(row and row[0])


def _capped(texts: pa.ChunkedArray) -> pa.ChunkedArray:
    """``texts`` with those longer than ``ROOT_TEXT_LIMIT_BYTES`` left out (NULL: unknown to
    the index, so readers take them from the spans)."""
    too_long = pc.fill_null(pc.greater(pc.binary_length(texts), ROOT_TEXT_LIMIT_BYTES), False)
    return pc.if_else(too_long, pa.scalar(None, texts.type), texts)


def _close_quietly(connection: duckdb.DuckDBPyConnection) -> None:
    try:
        connection.close()
    except duckdb.Error:
        pass


__all__ = ["LiveReads", "has_duplicate_spans"]
