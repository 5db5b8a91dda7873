"""The trace index: one summary row per trace in a DuckDB table, kept current by every flush.

Why: the ``traces`` view over Parquet combines one partial summary per trace *and run* (see
trace_summaries.py) on every query, a GROUP BY over every trace; at a million spans that alone
took most of a second for "the newest 50 traces". The index holds the same partials already
combined, one row per trace, in DuckDB's own compressed, buffer-managed storage
(``trace_index.duckdb`` in the data directory), so a listing is a scan of one narrow column
and a top-N, a filter on status or experiment a columnar scan, whatever the data size.

It is derived data, never the system of record: the Parquet summary files are. Each add
records, in its own transaction, the flush it absorbed (its run number, ``absorbed_run``): every
summary and assessment file of a level above 0, and every flushed (level-0) one of a run up to
that number, is in the index. Compaction never merges a flushed file the index has not absorbed
(store.py), so after a crash the files still to add are exactly the flushed ones of later runs:
at most the one flush published but not yet added, which :meth:`TraceIndex.catch_up` adds at
the next start. The index is rebuilt from the files only when it is missing, damaged, of
another layout, or failed while running (live_reads.py rebuilds it in the background). While
running, the writer thread is its only writer (:meth:`TraceIndex.add` after each flush is
published); readers use cursors of the same database (:meth:`TraceIndex.cursor`) and see
committed rows.

Each row keeps the partial form (``TRACE_SUMMARY_SCHEMA``: root-candidate sort keys and the
128-bit span-id set) so the next flush's partial of the same trace combines exactly; the
``traces`` columns are computed from it by ``traces_from_unique_summaries_sql``. The span-id
bits also tell the writer whether a span it is about to store *may* already be stored
(:meth:`TraceIndex.traces_that_may_hold`): disjoint bits prove it is not.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from otel_feedback_collector.storage.arrow_summaries import ROOT_NOTE_SCHEMA
from otel_feedback_collector.storage.cost_inputs import COST_INPUTS_SQL_TYPE, lists_per_trace
from otel_feedback_collector.storage.current_assessments import current_values_sql, live_assessments_sql
from otel_feedback_collector.storage.schema import ASSESSMENT_SCHEMA
from otel_feedback_collector.storage.trace_summaries import (
    TRACE_COLUMNS,
    TRACE_SUMMARY_SCHEMA,
    merge_summaries_sql,
    spans_to_summaries_sql,
)

logger = logging.getLogger("otel_feedback_collector.storage")

INDEX_FILE_NAME = "trace_index.duckdb"
TABLE = "trace_index"
# The assessment log, one row per assessment id (the Parquet runs may repeat an id that was
# resent; this copy holds it once, so reads need not de-duplicate).
ASSESSMENT_TABLE = "assessment_index"
# Per trace and name, the current value (current_assessments.py), refreshed for the traces a
# flush's assessments touch; what search filters read.
CURRENT_TABLE = "current_assessment_index"
_STATE = "trace_index_state"
# The index's state rows: whether it was closed cleanly, and up to which WAL segment the data
# it describes goes (the manifest's ``wal_applied_through`` at close).
_CLEAN = "clean"
_THROUGH = "wal_applied_through"
# The largest flush run the index holds (see the module docstring); absent while a rebuild fills
# the tables, and in an index an older version wrote (it then needs ``clean`` to be reused).
_ABSORBED_RUN = "absorbed_run"
# The tables' layout: an index of another layout is rebuilt (bump when the tables change;
# 2: the summary keys and span-id bits are BIGINT, no longer UBIGINT).
_FORMAT = "format"
_FORMAT_VERSION = "2"

_CHECKPOINT_THRESHOLD = "64MiB"

_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.bool_(): "BOOLEAN",
    pa.float64(): "DOUBLE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
}


# A number per trace id for lookups: comparing one BIGINT column is far cheaper than comparing
# 32-character strings, and DuckDB fetches the full rows of the few matches afterwards. It is
# the id's first 15 hex digits (0 for an id that is not hex); ``trace_id`` is compared too.
TRACE_NUMBER_SQL = "coalesce(TRY_CAST('0x' || left({id}, 15) AS BIGINT), 0)"


def trace_number_sql(expression: str) -> str:
    """SQL computing the lookup number of the trace id ``expression``."""
    return TRACE_NUMBER_SQL.format(id=expression)


# ``traces`` columns stored computed (not computed per row per query): the listing orders
# and filters on them, and computing a timestamp for every trace on every query was most of
# the time of "the newest 50".
_STORED_COLUMNS = {"start_time": "TIMESTAMPTZ", "end_time": "TIMESTAMPTZ", "duration_ms": "DOUBLE", "status": "VARCHAR"}
_SINGLE = {column.name: column.single for column in TRACE_COLUMNS}
# The root span's full input and output (what the REST listing returns as ``request`` and
# ``response``), taken from each flush's spans: reading them from Parquet for a page of traces
# meant decompressing whole row groups of text. ``root_start`` NULL means not known (no root
# span seen yet, or the index was rebuilt from Parquet): readers then read the spans. A text
# longer than ``ROOT_TEXT_LIMIT_BYTES`` is not copied (NULL): a 20 MB prompt would otherwise be
# stored again here and keep the index large; its readers read it from the spans.
# ``last_start``: the latest start of any span of the trace, so a read of one trace's spans can
# bound their start times from above as well as below (files flushed later are skipped).
ROOT_TEXT_LIMIT_BYTES = 4096
_ROOT_BODY_COLUMNS = {"root_start": "BIGINT", "root_request": "VARCHAR", "root_response": "VARCHAR"}
# What a flush notes per trace for the index (arrow_summaries.py computes it).
ROOTS_SCHEMA = ROOT_NOTE_SCHEMA
# Per trace, what its dollars are computed from (cost_inputs.py), from each flush's notes;
# NULL: not known (a rebuilt row, or one an older version wrote), readers read the spans.
# Added to an index of an older version on open (its rows then NULL), not by a rebuild.
_COST_COLUMN = f"cost_inputs {COST_INPUTS_SQL_TYPE}"
_COST_SUMS = ("input_tokens", "output_tokens", "own_cost")


# DuckDB's memory for the index database, which also runs the reads' Parquet queries (it spills
# beyond). 96 MB before: at a million spans the collector's RSS peaked at 297-316 MB while
# ingesting, against 270-282 with 64 (two back-to-back pairs, bench/reads_at_scale.py), with
# the same CPU per span and read latencies; at ten million the reads (warm) and the ingest peak
# (357-394 vs 380-385 MB, adding a million spans) were the same within noise.
_MEMORY_LIMIT = "64MB"
# A flush's add that runs out of that memory (seen adding a million spans at fourteen million,
# with the C conversion's faster flushes) is retried with the limit doubled, up to this; the
# index failing instead sent every read to the Parquet files (GBs of RSS at that size) and the
# next flush into a rebuild of minutes.
_MEMORY_LIMIT_MAX_MB = 512


# No ART index on any table here, though point lookups by trace would like one: DuckDB keeps an
# ART index whole in memory, outside what the buffer manager can evict, and counts it against
# the memory limit. One on ``trace_number`` took ~40 MB per million traces and made every flush
# fail to commit ("could not allocate block") past ~1.8M traces (~5M spans) under a 96 MB
# limit: storage would stop. Lookups read the 8-byte ``trace_number`` column instead.


def _create_table_sql(name: str, schema: pa.Schema, *, numbered: bool = False) -> str:
    columns = ", ".join(f"{field.name} {_DUCKDB_TYPES[field.type]}" for field in schema)
    if not numbered:
        return f"CREATE TABLE IF NOT EXISTS {name} ({columns})"
    stored = ", ".join(f"stored_{column} {kind}" for column, kind in _STORED_COLUMNS.items())
    roots = ", ".join(f"{column} {kind}" for column, kind in _ROOT_BODY_COLUMNS.items())
    return (
        f"CREATE TABLE IF NOT EXISTS {name} (trace_number BIGINT, {columns}, {stored}, {roots}, last_start BIGINT, "
        f"{_COST_COLUMN})"
    )


def traces_sql(source: str, *, extra: str = "") -> str:
    """The ``traces`` rows of index rows in ``source`` (the table or a query over it), with
    the ``extra`` columns (SQL select items over the index row) after them."""
    columns = ", ".join(
        f"stored_{column.name} AS {column.name}" if column.name in _STORED_COLUMNS else f"{column.single} AS {column.name}"
        for column in TRACE_COLUMNS
    )
    return f"SELECT {columns}{', ' + extra if extra else ''} FROM {source}"


class TraceIndex:
    """One DuckDB database file holding the combined trace summaries of a data directory."""

    def __init__(self, path: Path, *, memory_limit: str = _MEMORY_LIMIT, threads: int = 2) -> None:
        self.path = path
        self.memory_limit = memory_limit
        self._threads = threads
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._write_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    def open(
        self,
        *,
        wal_applied_through: int,
        newest_run: int,
        rebuild: Callable[[duckdb.DuckDBPyConnection], None] | None,
        force_rebuild: bool = False,
    ) -> int | None:
        """Open the index file and return the largest flush run it holds (``absorbed_run``):
        the caller adds the flushed files of later runs (:meth:`catch_up`). When the index
        ``newest_run`` is the data's newest run (the manifest's last file number), what an index an
        older version closed cleanly holds. When the index
        cannot be reused (missing, damaged, another layout, ahead of the data, or
        ``force_rebuild``) its tables are emptied and filled by ``rebuild(connection)`` from
        the Parquet summaries, and None is returned (the caller records what the rebuild
        read with :meth:`record_absorbed`); with ``rebuild=None`` they are left empty for a
        later :meth:`rebuild`. Raises ``duckdb.Error``/``OSError`` (e.g. a full disk)."""
        self.close(wal_applied_through=None)
        self._connection = self._connect()
        connection = self._connection
        connection.execute(f"CREATE TABLE IF NOT EXISTS {_STATE} (key VARCHAR PRIMARY KEY, value VARCHAR)")
        state = dict(connection.execute(f"SELECT key, value FROM {_STATE}").fetchall())
        absorbed = _reusable_run(state, wal_applied_through, newest_run)
        if absorbed is not None and not force_rebuild:
            # Nothing else is written here: its state is true as it stands (each add records
            # its flush), and a start on a full disk must not lose the index for a write.
            if _COST_COLUMN.split()[0] not in {row[0] for row in connection.execute(f"DESCRIBE {TABLE}").fetchall()}:
                connection.execute(f"ALTER TABLE {TABLE} ADD COLUMN {_COST_COLUMN}")
            return absorbed
        self._empty_tables(wal_applied_through)
        if rebuild is not None:
            self.rebuild(rebuild)
        return None

    def rebuild(self, fill: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
        """Fill the emptied tables (``fill(connection)``: from the Parquet summaries)."""
        assert self._connection is not None
        logger.info("Building the trace index %s from the Parquet files.", self.path)
        fill(self._connection)
        self._connection.execute("CHECKPOINT")

    def _empty_tables(self, wal_applied_through: int) -> None:
        connection = self._connection
        assert connection is not None
        # Dropped, not emptied: the tables may be of an older layout, and dropping frees space.
        for table in (TABLE, ASSESSMENT_TABLE, CURRENT_TABLE):
            connection.execute(f"DROP TABLE IF EXISTS {table}")
        connection.execute(_create_table_sql(TABLE, TRACE_SUMMARY_SCHEMA, numbered=True))
        connection.execute(_create_table_sql(ASSESSMENT_TABLE, ASSESSMENT_SCHEMA))
        connection.execute(
            f"CREATE TABLE {CURRENT_TABLE} (trace_id VARCHAR, name VARCHAR, type VARCHAR, value VARCHAR)"
        )
        # Until the tables are filled, nothing says what they hold: a crash now rebuilds again.
        connection.execute(f"DELETE FROM {_STATE} WHERE key = ?", [_ABSORBED_RUN])
        self._set_state(clean=False, through=wal_applied_through)

    def interrupt(self) -> None:
        """Stop the statement running on the index's own connection (a rebuild's), if any."""
        connection = self._connection
        if connection is not None:
            connection.interrupt()

    def record_absorbed(self, *, run: int, through: int) -> None:
        """Record that the index holds every file up to flush ``run`` (after a rebuild)."""
        assert self._connection is not None
        self._set_state(clean=False, through=through, run=run)

    def close(self, *, wal_applied_through: int | None) -> None:
        """Mark the index clean (it matches the data up to ``wal_applied_through``; None when
        the last flush failed, so the next start rebuilds it) and close it."""
        connection = self._connection
        if connection is None:
            return
        try:
            if wal_applied_through is not None:
                self._set_state(clean=True, through=wal_applied_through)
            connection.execute("CHECKPOINT")
        except duckdb.Error as error:  # e.g. a full disk: the next start rebuilds the index
            logger.warning("Could not close the trace index cleanly (%s); it is rebuilt at the next start.", error)
        finally:
            try:
                connection.close()
            except duckdb.Error:
                pass
            self._connection = None

    def _connect(self) -> duckdb.DuckDBPyConnection:
        connection = self._connect_file()
        # Readers share this database: a Parquet footer is read once, not once per request.
        connection.execute("SET GLOBAL parquet_metadata_cache = true")
        return connection

    def _connect_file(self) -> duckdb.DuckDBPyConnection:
        config = {
            "memory_limit": self.memory_limit,
            "threads": self._threads,
            "preserve_insertion_order": False,
            # Checkpoints compress the rows flushes appended (root texts are most of a row)
            # and rewrite the row groups they went into. At DuckDB's default (every 16 MB of
            # its WAL: about every second flush of GenAI traces) adding flushes to the index
            # cost ~19 us of CPU per span stored, mostly in DuckDB's own threads; every 64 MB,
            # ~14 (measured over 60 flushes into 216k traces; peak RSS the same). The cost: after
            # a crash, opening the index replays up to 64 MB of WAL before it is rebuilt anyway.
            "checkpoint_threshold": _CHECKPOINT_THRESHOLD,
        }
        try:
            return duckdb.connect(str(self.path), config=config)
        except duckdb.Error as error:
            # A damaged index file is only a cache of the Parquet summaries: start afresh.
            logger.error("The trace index %s cannot be opened (%s); rebuilding it.", self.path, error)
            for stale in (self.path, self.path.with_name(self.path.name + ".wal")):
                stale.unlink(missing_ok=True)
            return duckdb.connect(str(self.path), config=config)

    def _set_state(
        self, *, clean: bool, through: int, run: int | None = None, cursor: duckdb.DuckDBPyConnection | None = None
    ) -> None:
        rows = [[_CLEAN, "true" if clean else "false"], [_THROUGH, str(through)], [_FORMAT, _FORMAT_VERSION]]
        if run is not None:
            rows.append([_ABSORBED_RUN, str(run)])
        target = cursor if cursor is not None else self._connection
        assert target is not None
        target.executemany(f"INSERT OR REPLACE INTO {_STATE} VALUES (?, ?)", rows)

    # -- reading -----------------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection to the index database, for one thread."""
        if self._connection is None:
            raise RuntimeError("The trace index is not open.")
        return self._connection.cursor()

    def traces_that_may_hold(self, partials: pa.Table) -> list[str]:
        """Trace ids of ``partials`` whose spans may already be stored: the stored summary's
        span-id bits overlap the partial's. (No overlap proves no span is stored twice.)"""
        if partials.num_rows == 0:
            return []
        cursor = self.cursor()
        try:
            cursor.register("_incoming", partials.select(["trace_id", "span_bits_low", "span_bits_high"]))
            rows = cursor.execute(
                f"""SELECT i.trace_id FROM _incoming AS i JOIN (
                        {_rows_of_sql(cursor, "_incoming", "trace_id, span_bits_low, span_bits_high")}
                    ) AS t USING (trace_id)
                    WHERE (i.span_bits_low & t.span_bits_low) <> 0
                       OR (i.span_bits_high & t.span_bits_high) <> 0"""
            ).fetchall()
        finally:
            cursor.close()
        return [row[0] for row in rows]

    # -- writing -----------------------------------------------------------------------------

    def add(
        self,
        partials: pa.Table | None,
        assessments: pa.Table | None,
        roots: pa.Table | None = None,
        *,
        run: int,
        through: int,
    ) -> None:
        """Combine a flush's partial summaries (one per trace, of spans not stored before),
        its root spans' bodies (``ROOTS_SCHEMA``) and its assessment rows into the index, and
        record the flush (its ``run`` and the WAL segment it applied ``through``), in one
        transaction. Out of memory, the transaction is rolled back and retried with a
        higher memory limit (doubled, up to ``_MEMORY_LIMIT_MAX_MB``), which then stays."""
        self._with_more_memory(lambda: self._add(partials, assessments, roots, run=run, through=through))

    def _with_more_memory(self, write: Callable[[], None]) -> None:
        """Run ``write`` (one transaction); out of memory, again with the limit raised."""
        while True:
            try:
                write()
                return
            except duckdb.OutOfMemoryException as error:
                if not self._raise_memory_limit(error):
                    raise

    def _raise_memory_limit(self, error: duckdb.OutOfMemoryException) -> bool:
        """Double the database's memory limit (False when it is at the maximum already)."""
        current = _megabytes(self.memory_limit)
        if current >= _MEMORY_LIMIT_MAX_MB:
            return False
        raised = min(2 * current, _MEMORY_LIMIT_MAX_MB)
        assert self._connection is not None
        self._connection.execute(f"SET memory_limit = '{raised}MB'")
        logger.warning(
            "The trace index ran out of its %d MB adding a flush (%s); retrying with %d MB.",
            current, str(error).splitlines()[0], raised,
        )
        self.memory_limit = f"{raised}MB"
        return True

    def _add(
        self, partials: pa.Table | None, assessments: pa.Table | None, roots: pa.Table | None, *, run: int, through: int
    ) -> None:
        with self._transaction() as cursor:
            if partials is not None and partials.num_rows:
                roots = _one_note_per_trace(roots) if roots is not None else ROOTS_SCHEMA.empty_table()
                cursor.register("_incoming", partials)
                cursor.register("_incoming_roots", roots)
                add_sql(cursor, "_incoming", roots="_incoming_roots", one_root_row_per_trace=True)
            if assessments is not None and assessments.num_rows:
                cursor.register("_incoming_assessments", assessments)
                add_assessments_sql(cursor, "_incoming_assessments")
            self._set_state(clean=False, through=through, run=run, cursor=cursor)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of the index in one transaction (the index's writes take turns): committed
        when the block ends, rolled back when it raises."""
        with self._write_lock:
            cursor = self.cursor()
            try:
                cursor.execute("BEGIN")
                yield cursor
                cursor.execute("COMMIT")
            except BaseException:
                try:
                    cursor.execute("ROLLBACK")
                except duckdb.Error:
                    pass
                raise
            finally:
                cursor.close()

    def catch_up(
        self, summaries: str | None, assessments: str | None, *, run: int, through: int, spans: str | None = None
    ) -> None:
        """Add flushed files the index does not hold yet (``summaries`` and ``assessments``:
        SQL sources over their Parquet files, or None) and record ``run`` and ``through``, in
        one transaction. Their traces' rows become what a rebuild gives (root, latest start
        and cost inputs unknown: the files do not hold the root notes a flush adds), so their
        readers read the spans for those. ``spans`` (a source over every live span file, with
        ``filename``) is given when those flushes were stored unchecked (runs may repeat a
        span): a trace whose partials share a span is then summarised again from its spans.
        Out of memory, it is retried with a higher limit, as :meth:`add` is."""
        self._with_more_memory(
            lambda: self._catch_up(summaries, assessments, run=run, through=through, spans=spans)
        )

    def _catch_up(
        self, summaries: str | None, assessments: str | None, *, run: int, through: int, spans: str | None
    ) -> None:
        with self._transaction() as cursor:
            if summaries is not None:
                names = ", ".join(TRACE_SUMMARY_SCHEMA.names)
                cursor.execute(
                    f"CREATE OR REPLACE TEMP TABLE _caught AS {merge_summaries_sql(f'(SELECT {names} FROM {summaries})')}"
                )
                cursor.execute(
                    "CREATE OR REPLACE TEMP TABLE _existing AS " + _rows_of_sql(cursor, "_caught", "rowid AS row_id, *")
                )
                cursor.execute(
                    f"""CREATE OR REPLACE TEMP TABLE _combined AS {merge_summaries_sql(
                        f"(SELECT {names} FROM _existing UNION ALL SELECT {names} FROM _caught)"
                    )}"""
                )
                cursor.execute(f"DELETE FROM {TABLE} WHERE rowid IN (SELECT row_id FROM _existing)")
                cursor.execute(insert_sql("_combined"))
                if spans is not None:
                    # A span stored again while the index was down (a resent export) is in
                    # two partials: combined, they would count it twice.
                    bits = "trace_id, span_bits_low, span_bits_high"
                    recompute_from_spans(
                        cursor,
                        overlapping_traces_sql(f"(SELECT {bits} FROM _existing UNION ALL SELECT {bits} FROM {summaries})"),
                        spans,
                    )
                for temporary in ("_caught", "_existing", "_combined"):
                    cursor.execute(f"DROP TABLE {temporary}")
            if assessments is not None:
                add_assessments_sql(cursor, assessments)
            self._set_state(clean=False, through=through, run=run, cursor=cursor)


def _reusable_run(state: dict[str, str], wal_applied_through: int, newest_run: int) -> int | None:
    """The flush run an index with ``state`` holds when it can be reused with data whose
    manifest applied the WAL ``wal_applied_through``, else None. An index that recorded its
    flushes is reused whatever the last stop was (the files it lacks are added); it must not
    be ahead of the data (a manifest restored from its previous copy). One an older version
    closed cleanly is reused when it matched the data exactly (it then holds every file)."""
    if state.get(_FORMAT) != _FORMAT_VERSION:
        return None
    try:
        through = int(state.get(_THROUGH, ""))
    except ValueError:
        return None
    if _ABSORBED_RUN in state:
        try:
            run = int(state[_ABSORBED_RUN])
        except ValueError:
            return None
        return run if through <= wal_applied_through else None
    if state.get(_CLEAN) == "true" and through == wal_applied_through:
        return newest_run
    return None


def _one_note_per_trace(roots: pa.Table) -> pa.Table:
    """A flush's root notes (``ROOTS_SCHEMA``) with one row per trace, as ``add_sql``'s
    combining statements would choose: a trace whose spans came in several chunks of the flush
    was noted once per chunk. Its root is the earliest one with a start (of equal starts,
    either); its latest start is unknown (NULL) if one note did not know it."""
    if pc.count_distinct(roots["trace_id"]).as_py() == roots.num_rows:
        return roots
    numbered = roots.append_column("row", pa.array(range(roots.num_rows), pa.int64()))
    numbered = numbered.take(
        pc.sort_indices(numbered, sort_keys=[("trace_id", "ascending"), ("root_start", "ascending")])  # NULLs last
    )
    grouped = numbered.group_by("trace_id", use_threads=False).aggregate(
        [("row", "first"), ("last_start", "max"), ("last_start", "count"), ([], "count_all")]
    )
    first = grouped["row_first"]
    known = pc.equal(grouped["last_start_count"], grouped["count_all"])
    # Its cost inputs: every note's entries (not known if one note did not know them).
    ids, costs = lists_per_trace(roots["trace_id"], roots["cost_inputs"].combine_chunks())
    return pa.table(
        {
            "trace_id": grouped["trace_id"],
            "last_start": pc.if_else(known, grouped["last_start_max"], None),
            **{name: roots[name].take(first) for name in _ROOT_BODY_COLUMNS},
            "cost_inputs": costs.take(pc.index_in(grouped["trace_id"], value_set=ids)),
        },
        schema=ROOTS_SCHEMA,
    )


def _megabytes(limit: str) -> int:
    """A memory limit such as ``"64MB"`` or ``"1GB"`` in megabytes."""
    text = limit.strip().upper()
    if text.endswith("GB"):
        return int(float(text[:-2]) * 1024)
    return int(float(text.removesuffix("MB")))


def add_sql(
    connection: duckdb.DuckDBPyConnection, source: str, *, roots: str, one_root_row_per_trace: bool = False
) -> None:
    """Combine the partial summaries in ``source`` and the root bodies in ``roots`` (tables,
    views or parenthesised queries) into the index table on ``connection`` (inside the
    caller's transaction, if any). Of several roots of a trace, the earliest counts (as
    ``arg_min`` over the spans would choose).

    When none of the traces is in the index yet and ``roots`` holds at most one row per
    trace (``one_root_row_per_trace``; ``TraceIndex.add`` makes it so: a flush of new traces,
    the usual case under load), there is nothing to combine: the rows go in with one INSERT. The combining
    statements below cost ~4 us of CPU per span of a flush even when they had nothing to do.

    The index table is read once per flush (``_existing``: the rows of the flush's traces,
    see :func:`_rows_of_sql`) and their old rows are deleted by row id: each pass over a
    table of millions of traces cost tens of milliseconds per flush, and the flushes come
    every second."""
    names = ", ".join(TRACE_SUMMARY_SCHEMA.names)
    row_ids = _row_ids(connection, source)
    if not row_ids and one_root_row_per_trace:
        connection.execute(insert_sql(_new_traces_sql(source, roots), with_roots=True))
        return
    connection.execute(f"CREATE OR REPLACE TEMP TABLE _partials AS SELECT {names} FROM {source}")
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE _existing AS {_rows_by_id_sql(row_ids, '_partials', 'rowid AS row_id, *')}"
    )
    connection.execute(
        f"""CREATE OR REPLACE TEMP TABLE _combined AS {merge_summaries_sql(
            f"(SELECT {names} FROM _existing UNION ALL SELECT {names} FROM _partials)"
        )}"""
    )
    body_names = ", ".join(_ROOT_BODY_COLUMNS)
    # A row rebuilt from Parquet knows neither its root nor its latest start (``last_start``
    # NULL) and never learns them: an earlier root may be in the files, so a root arriving
    # now must not become the trace's root. Its readers read the spans instead.
    connection.execute(
        f"""CREATE OR REPLACE TEMP TABLE _roots AS
            SELECT trace_id, {body_names} FROM (
                SELECT trace_id, {body_names} FROM _existing
                UNION ALL SELECT trace_id, {body_names} FROM {roots}
            ) WHERE root_start IS NOT NULL
                AND trace_id NOT IN (SELECT trace_id FROM _existing WHERE last_start IS NULL)
            QUALIFY row_number() OVER (PARTITION BY trace_id ORDER BY root_start) = 1"""
    )
    # Unknown (NULL) for a trace stays unknown: an older part of it may have started later.
    connection.execute(
        f"""CREATE OR REPLACE TEMP TABLE _last_starts AS
            SELECT trace_id, CASE WHEN count(*) = count(last_start) THEN max(last_start) END AS last_start FROM (
                SELECT trace_id, last_start FROM _existing
                UNION ALL SELECT trace_id, last_start FROM {roots}
            ) GROUP BY trace_id"""
    )
    # The stored entries and the flush's; not known if either is not (a trace without a
    # note, or a row rebuilt from Parquet). Those of a stored trace are summed with the flush's
    # per (model, has own cost), as readers sum them, so a trace that gets spans in every
    # flush for hours keeps a few entries, not one per flush. (A new trace's are kept as
    # noted: its row is the one the fast path's INSERT gives.)
    connection.execute(
        f"""CREATE OR REPLACE TEMP TABLE _costs_each AS
            SELECT p.trace_id, CASE WHEN e.trace_id IS NULL THEN n.cost_inputs
                                    WHEN e.cost_inputs IS NULL OR n.cost_inputs IS NULL THEN NULL
                                    ELSE list_concat(e.cost_inputs, n.cost_inputs) END AS cost_inputs,
                   e.cost_inputs IS NOT NULL AND n.cost_inputs IS NOT NULL AS stored_and_new
            FROM (SELECT DISTINCT trace_id FROM _partials) AS p
            LEFT JOIN _existing AS e USING (trace_id)
            LEFT JOIN (
                SELECT trace_id, CASE WHEN count(*) = count(cost_inputs) THEN flatten(list(cost_inputs)) END AS cost_inputs
                FROM {roots} GROUP BY trace_id
            ) AS n USING (trace_id)"""
    )
    connection.execute(f"CREATE OR REPLACE TEMP TABLE _costs AS {_summed_costs_sql('_costs_each')}")
    connection.execute(f"DELETE FROM {TABLE} WHERE rowid IN (SELECT row_id FROM _existing)")
    connection.execute(
        insert_sql(
            "(SELECT * FROM _combined LEFT JOIN _roots USING (trace_id) LEFT JOIN _last_starts USING (trace_id)"
            " LEFT JOIN _costs USING (trace_id))",
            with_roots=True,
        )
    )
    for temporary in ("_partials", "_existing", "_combined", "_roots", "_last_starts", "_costs_each", "_costs"):
        connection.execute(f"DROP TABLE {temporary}")


def _summed_costs_sql(source: str) -> str:
    """``source``'s ``(trace_id, cost_inputs, stored_and_new)`` rows with the entries of the
    lists that are ``stored_and_new`` summed per (model, has own cost): NULL sums stay NULL only
    where every entry's was, as ``ui/cost_queries.stored_cost_inputs`` sums them."""
    entry = ", ".join(f"'{name}': {name}" for name in ("model", "has_own", *_COST_SUMS))
    sums = ", ".join(f"sum(entry.{name}) AS {name}" for name in _COST_SUMS)
    return f"""SELECT c.trace_id,
                   CASE WHEN c.stored_and_new THEN coalesce(s.cost_inputs, []) ELSE c.cost_inputs END AS cost_inputs
            FROM {source} AS c LEFT JOIN (
                SELECT trace_id, list({{{entry}}} ORDER BY model NULLS FIRST, has_own)::{COST_INPUTS_SQL_TYPE} AS cost_inputs
                FROM (
                    SELECT trace_id, entry.model AS model, entry.has_own AS has_own, {sums}
                    FROM (SELECT trace_id, unnest(cost_inputs) AS entry FROM {source} WHERE stored_and_new)
                    GROUP BY trace_id, entry.model, entry.has_own
                ) GROUP BY trace_id
            ) AS s USING (trace_id)"""


def _rows_of_sql(connection: duckdb.DuckDBPyConnection, source: str, columns: str) -> str:
    """SQL selecting ``columns`` of the index rows whose trace id is in ``source``.

    In two steps, because the index holds millions of wide rows and a flush touches a few
    thousand: the row ids of the candidates come from the 8-byte ``trace_number`` column
    alone, then the rows are read by a constant list of those row ids, which DuckDB pushes
    into the scan so it reads the other columns only where they match. (``trace_id IN
    (subquery)`` is a join after a scan of every column of every row: ~150 ms at 1.5M traces
    against ~20 ms; a flush comes every second.) The ids are integers DuckDB returned, never
    request text."""
    return _rows_by_id_sql(_row_ids(connection, source), source, columns)


def _row_ids(connection: duckdb.DuckDBPyConnection, source: str) -> list[int]:
    """The row ids of the index rows that may hold a trace of ``source`` (by lookup number)."""
    rows = connection.execute(
        f"SELECT rowid FROM {TABLE} WHERE trace_number IN (SELECT {trace_number_sql('trace_id')} FROM {source})"
    ).fetchall()
    return [int(row_id) for (row_id,) in rows]


def _rows_by_id_sql(row_ids: list[int], source: str, columns: str) -> str:
    """SQL selecting ``columns`` of the index rows of ``row_ids`` whose trace id is in ``source``."""
    if not row_ids:
        return f"SELECT {columns} FROM {TABLE} WHERE FALSE"
    listed = ", ".join(str(row_id) for row_id in row_ids)
    return (
        f"SELECT {columns} FROM {TABLE} WHERE rowid IN ({listed})"
        f" AND trace_id IN (SELECT trace_id FROM {source})"
    )


def _new_traces_sql(source: str, roots: str) -> str:
    """The index rows of traces new to the index, each with at most one row in ``roots``: what
    ``add_sql``'s combining statements give them (a root without a start is no root)."""
    names = ", ".join(f"p.{name}" for name in TRACE_SUMMARY_SCHEMA.names)
    bodies = ", ".join(
        f"CASE WHEN r.root_start IS NOT NULL THEN r.{column} END AS {column}" for column in _ROOT_BODY_COLUMNS
    )
    return f"(SELECT {names}, {bodies}, r.last_start, r.cost_inputs FROM {source} AS p LEFT JOIN {roots} AS r USING (trace_id))"


def add_assessments_sql(connection: duckdb.DuckDBPyConnection, source: str) -> None:
    """Add the assessment rows of ``source`` whose id the index does not hold yet (the first
    row of an id repeated within ``source``)."""
    names = ", ".join(ASSESSMENT_SCHEMA.names)
    connection.execute(
        f"""INSERT INTO {ASSESSMENT_TABLE}
            SELECT {names} FROM {source}
            WHERE assessment_id NOT IN (SELECT assessment_id FROM {ASSESSMENT_TABLE})
            QUALIFY row_number() OVER (PARTITION BY assessment_id ORDER BY created_time_unix_nano) = 1"""
    )
    touched = f"(SELECT DISTINCT trace_id FROM {source})"
    log = f"(SELECT * FROM {ASSESSMENT_TABLE} WHERE trace_id IN {touched})"
    connection.execute(f"DELETE FROM {CURRENT_TABLE} WHERE trace_id IN {touched}")
    connection.execute(
        f"INSERT INTO {CURRENT_TABLE} {current_values_sql(f'({live_assessments_sql(log)})')}"
    )


def overlapping_traces_sql(source: str) -> str:
    """SQL selecting the trace ids whose partial summaries in ``source`` share a span-id bit:
    they may count a span twice (disjoint bits prove they do not)."""
    return f"""(SELECT trace_id FROM {source} GROUP BY trace_id HAVING
        sum(bit_count(span_bits_low) + bit_count(span_bits_high))
        <> bit_count(bit_or(span_bits_low)) + bit_count(bit_or(span_bits_high)))"""


def recompute_from_spans(connection: duckdb.DuckDBPyConnection, traces: str, spans: str) -> None:
    """Replace the index rows of the trace ids ``traces`` (a query) by summaries of their
    spans in ``spans`` (a source over every live span file, with ``filename``), each span
    counted once."""
    deduplicated = (
        f"(SELECT * EXCLUDE (filename) FROM {spans} WHERE trace_id IN {traces} "
        "QUALIFY row_number() OVER (PARTITION BY trace_id, span_id ORDER BY filename) = 1)"
    )
    connection.execute(f"CREATE OR REPLACE TEMP TABLE _recomputed AS {spans_to_summaries_sql(deduplicated)}")
    connection.execute(f"DELETE FROM {TABLE} WHERE trace_id IN (SELECT trace_id FROM _recomputed)")
    connection.execute(insert_sql("_recomputed"))
    connection.execute("DROP TABLE _recomputed")


def insert_sql(source: str, *, with_roots: bool = False) -> str:
    """SQL inserting the one-per-trace summary rows of ``source`` into the index table
    (``with_roots``: ``source`` also has the root body columns, the latest start and the cost
    inputs; else they stay unknown)."""
    stored = ", ".join(_SINGLE[column] for column in _STORED_COLUMNS)
    names = ", ".join(TRACE_SUMMARY_SCHEMA.names)
    kinds = {**_ROOT_BODY_COLUMNS, "last_start": "BIGINT", "cost_inputs": COST_INPUTS_SQL_TYPE}
    roots = ", ".join(kinds) if with_roots else ", ".join(f"NULL::{kind}" for kind in kinds.values())
    return f"INSERT INTO {TABLE} SELECT {trace_number_sql('trace_id')}, {names}, {stored}, {roots} FROM {source}"


__all__ = ["ASSESSMENT_TABLE", "ROOT_TEXT_LIMIT_BYTES", "CURRENT_TABLE", "ROOTS_SCHEMA", "INDEX_FILE_NAME", "TABLE", "TraceIndex", "add_assessments_sql", "add_sql", "insert_sql", "overlapping_traces_sql", "recompute_from_spans", "trace_number_sql", "traces_sql"]
