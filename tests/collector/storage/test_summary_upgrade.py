"""No unsigned integer columns in any file we write; summary files an older version wrote with
uint64 columns (and its trace index) keep working and are rewritten as int64 at start-up.

The span-id bit sets use bit 63 (a span id ending in 0x3f or 0xbf sets bit 63 of the low set,
one ending in 0xff bit 63 of the high set): stored as int64, those are negative numbers, and the
duplicate checks and the ``traces`` sums must stay exact with them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from otel_feedback_collector.storage import SpanStore, connect
from otlp_builders import genai_trace, make_span, new_trace_id, traces_request
from test_trace_summaries import _ORACLE_SQL

_START = 1_700_000_000_000_000_000


def _sign_bit_trace() -> tuple[str, list]:
    """A four-span trace whose span ids set bit 63 of both halves of the bit set (two of them
    the same bit: a possible repeat that the check must look up, not a real one)."""
    trace_id = new_trace_id()
    root = make_span(trace_id=trace_id, name="root", span_id=os.urandom(7) + b"\x3f", start_ns=_START)
    children = [
        make_span(trace_id=trace_id, name=f"child{i}", span_id=os.urandom(7) + last, parent_span_id=root.span_id,
                  start_ns=_START + 1000 * (i + 1), attributes={"gen_ai.usage.input_tokens": 2})
        for i, last in enumerate((b"\xbf", b"\xff", b"\x01"))
    ]
    return trace_id.hex(), [root, *children]


def _live_files(data_dir: Path, dataset: str) -> list[Path]:
    manifest = json.loads((data_dir / "manifest.json").read_text())
    return [data_dir / f["path"] for f in manifest["datasets"][dataset]]


def _unsigned_columns(path: Path) -> list[str]:
    return [field.name for field in pq.read_schema(path) if pa.types.is_unsigned_integer(field.type)]


def _assert_matches_oracle(connection: duckdb.DuckDBPyConnection) -> None:
    assert connection.execute("SELECT * FROM traces ORDER BY trace_id").fetchall() == connection.execute(_ORACLE_SQL).fetchall()


def _write_split_sign_bit_trace(store: SpanStore) -> tuple[str, list]:
    trace_id, spans = _sign_bit_trace()
    store.write_traces(traces_request([spans[0], spans[2], *genai_trace()[1]]))
    store.flush()
    store.write_traces(traces_request([spans[1], spans[3]]))  # bit 63 (low) again: checked
    store.flush()
    return trace_id, spans


def test_no_file_has_unsigned_columns_and_sign_bits_count_right(data_dir: Path) -> None:
    with SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000) as store:
        trace_id, spans = _write_split_sign_bit_trace(store)
        store.write_traces(traces_request([spans[2]]))  # a resent span whose bit is the sign bit
        store.flush()
        connection = store.connect()
        _assert_matches_oracle(connection)
        assert connection.execute(
            "SELECT span_count, input_tokens FROM traces WHERE trace_id = ?", [trace_id]
        ).fetchone() == (4, 6)
        for dataset in ("spans", "assessments", "trace_summaries"):
            for path in _live_files(data_dir, dataset):
                assert _unsigned_columns(path) == [], path
        bits = pa.concat_tables([pq.read_table(p) for p in _live_files(data_dir, "trace_summaries")])
        ours = bits.filter(pc.equal(bits["trace_id"], trace_id))
        # The first flush holds 0x3f (low bit 63) and 0xff (high bit 63): both sets negative.
        assert ours["span_bits_low"].type == pa.int64()
        assert min(ours["span_bits_low"].to_pylist()) < 0 and min(ours["span_bits_high"].to_pylist()) < 0
        store.compact(full=True)
        _assert_matches_oracle(store.connect())
        for path in _live_files(data_dir, "trace_summaries"):
            assert _unsigned_columns(path) == []
        _assert_summary_times_match(store, data_dir)


def _assert_summary_times_match(store: SpanStore, data_dir: Path) -> None:
    """The summaries' timestamp columns give each trace's first start and last end."""
    summaries = f"read_parquet('{data_dir}/trace_summaries/*.parquet')"
    assert store.connect().execute(
        f"SELECT trace_id, min(start_time), max(end_time) FROM {summaries} GROUP BY trace_id ORDER BY trace_id"
    ).fetchall() == store.connect().execute(
        "SELECT trace_id, start_time, end_time FROM traces ORDER BY trace_id"
    ).fetchall()


def _make_old(data_dir: Path) -> None:
    """Turn a closed data directory into what the version with uint64 summaries left: every
    summary file rewritten with uint64 columns (the same 64 bits), and a trace index of that
    version's layout (UBIGINT columns, format 1), closed cleanly."""
    for path in _live_files(data_dir, "trace_summaries"):
        table = pq.read_table(path)
        columns = [
            pc.cast(column, pa.uint64(), safe=False)
            if name.endswith("_key") or name.startswith("span_bits") else column
            for name, column in zip(table.column_names, table.columns)
        ]
        old = pa.table(dict(zip(table.column_names, columns))).drop_columns(["start_time", "end_time"])
        pq.write_table(old, path)
        assert "span_bits_low" in _unsigned_columns(path)
    index = duckdb.connect(str(data_dir / "trace_index.duckdb"))
    names = [row[0] for row in index.execute("DESCRIBE trace_index").fetchall()]
    for name in names:
        if name.endswith("_key") or name.startswith("span_bits"):
            index.execute(
                f"ALTER TABLE trace_index ALTER {name} TYPE UBIGINT USING "
                f"CASE WHEN {name} < 0 THEN ({name} + 9223372036854775807 + 1)::UBIGINT + 9223372036854775808 "
                f"ELSE {name}::UBIGINT END"
            )
    index.execute("ALTER TABLE trace_index DROP start_time")
    index.execute("ALTER TABLE trace_index DROP end_time")
    index.execute("UPDATE trace_index_state SET value = '1' WHERE key = 'format'")
    index.close()


def test_a_directory_written_with_uint64_summaries_is_read_and_then_rewritten(data_dir: Path) -> None:
    with SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000) as store:
        trace_id, spans = _write_split_sign_bit_trace(store)
        expected = store.connect().execute("SELECT * FROM traces ORDER BY trace_id").fetchall()
    _make_old(data_dir)
    old_files = _live_files(data_dir, "trace_summaries")

    # Read as the older version left it (no collector opened it since): the same rows.
    old = connect(data_dir)
    assert old.execute("SELECT * FROM traces ORDER BY trace_id").fetchall() == expected

    with SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000) as store:
        new_files = _live_files(data_dir, "trace_summaries")
        assert len(new_files) == len(old_files) and not set(new_files) & set(old_files)
        for path in new_files:
            assert _unsigned_columns(path) == []
        # The old files left the globbed folder; a glob holds each trace's partials once.
        assert all(not path.exists() and (path.parent / "_retired" / path.name).exists() for path in old_files)
        glob = duckdb.connect().execute(
            f"SELECT count(*) FROM read_parquet('{data_dir}/trace_summaries/*.parquet')"
        ).fetchone()
        assert glob == (sum(pq.read_metadata(p).num_rows for p in new_files),)
        # The index was rebuilt in the new layout (in the background).
        assert store.wait_for_trace_index()
        index_types = dict(
            (row[0], row[1]) for row in store.connect().execute("DESCRIBE trace_index").fetchall()
        )
        assert index_types["span_bits_low"] == "BIGINT" and index_types["name_key"] == "BIGINT"
        _assert_summary_times_match(store, data_dir)
        assert store.connect().execute("SELECT * FROM traces ORDER BY trace_id").fetchall() == expected
        # The span-id check works across the rewrite: a resent span (low bit 63) is dropped,
        # a new one with the same last byte is kept.
        extra = make_span(trace_id=bytes.fromhex(trace_id), name="late", span_id=os.urandom(7) + b"\x3f",
                          parent_span_id=spans[0].span_id, start_ns=_START + 9000)
        store.write_traces(traces_request([spans[0], spans[2], extra]))
        store.flush()
        connection = store.connect()
        _assert_matches_oracle(connection)
        assert connection.execute(
            "SELECT span_count, input_tokens FROM traces WHERE trace_id = ?", [trace_id]
        ).fetchone() == (5, 6)
    # The Parquet-only views read the rewritten files the same way.
    _assert_matches_oracle(connect(data_dir))
