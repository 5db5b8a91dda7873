"""Compaction merges small files into one sorted file, keeps every row, and retires the old
files into ``_retired/`` until a grace period ends."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from otel_feedback_collector.storage import SpanStore
from otel_feedback_collector.storage.moved_files import is_moved_file_error, retry_after_refresh
from otlp_builders import genai_trace, traces_request


def _live(data_dir: Path) -> list[dict]:
    return json.loads((data_dir / "manifest.json").read_text())["datasets"]["spans"]


def test_compaction_reduces_files_keeps_rows_and_sorts_by_trace_id(data_dir: Path) -> None:
    with SpanStore(data_dir, compaction_fan_in=1000) as store:
        for _ in range(5):
            for _ in range(4):
                store.write_traces(traces_request(genai_trace()[1]))
            store.flush()
        before = store.connect().execute(
            "SELECT trace_id, span_id, name FROM spans ORDER BY ALL"
        ).fetchall()
        assert len(_live(data_dir)) == 5
        reader = store.connect()
        reader.execute("SELECT count(*) FROM spans").fetchone()
        assert store.compact(full=True) == 5
        live = _live(data_dir)
        assert len(live) == 1 and live[0]["level"] == 1 and live[0]["rows"] == 60
        after = store.connect().execute(
            "SELECT trace_id, span_id, name FROM spans ORDER BY ALL"
        ).fetchall()
        assert after == before
        # A connection opened before compaction names files that left for _retired/: the
        # error says so, and the query answers in full on a new snapshot.
        with pytest.raises(Exception) as missing:
            reader.execute("SELECT count(*) FROM spans").fetchone()
        assert is_moved_file_error(missing.value)
        connection = [reader]

        def refresh() -> None:
            connection[0] = store.connect()

        count = retry_after_refresh(
            lambda: connection[0].execute("SELECT count(*) FROM spans").fetchone(), refresh
        )
        assert count == (60,)
    merged = pq.ParquetFile(data_dir / live[0]["path"])
    trace_ids = merged.read(columns=["trace_id"]).column("trace_id").to_pylist()
    assert trace_ids == sorted(trace_ids)
    # Row-group min/max statistics on trace_id are what let a lookup skip the rest.
    statistics = merged.metadata.row_group(0).column(0).statistics
    assert (statistics.min, statistics.max) == (trace_ids[0], trace_ids[-1])


def test_background_compaction_merges_a_full_level(data_dir: Path) -> None:
    with SpanStore(data_dir, flush_interval=0.1, compaction_fan_in=3) as store:
        for _ in range(3):
            store.write_traces(traces_request(genai_trace()[1]))
            store.flush()
        # The compactor wakes after each flush; compact() waits for it and finds nothing left.
        store.compact()
        live = _live(data_dir)
        assert [f["level"] for f in live] == [1]
        assert store.connect().execute("SELECT count(*) FROM spans").fetchone() == (9,)


def test_retired_files_are_deleted_after_the_grace_period(data_dir: Path) -> None:
    with SpanStore(data_dir, compaction_fan_in=1000, retired_file_grace=0.0) as store:
        for _ in range(2):
            store.write_traces(traces_request(genai_trace()[1]))
            store.flush()
        old = [data_dir / f["path"] for f in _live(data_dir)]
        store.compact(full=True)
        # With no grace period the replaced files go as soon as compaction has published.
        assert not any(path.exists() for path in old)
        assert not list((data_dir / "spans" / "_retired").iterdir())
        assert store.connect().execute("SELECT count(*) FROM spans").fetchone() == (6,)
    assert json.loads((data_dir / "manifest.json").read_text())["retired"] == []


def test_retired_files_are_kept_during_the_grace_period(data_dir: Path) -> None:
    with SpanStore(data_dir, compaction_fan_in=1000, retired_file_grace=3600) as store:
        for _ in range(2):
            store.write_traces(traces_request(genai_trace()[1]))
            store.flush()
        old = [data_dir / f["path"] for f in _live(data_dir)]
        store.compact(full=True)
    with SpanStore(data_dir, compaction_fan_in=1000, retired_file_grace=3600):
        # Kept, but out of the globbed folder: in spans/_retired/.
        assert not any(path.exists() for path in old)
        assert all((path.parent / "_retired" / path.name).exists() for path in old)
    retired = json.loads((data_dir / "manifest.json").read_text())["retired"]
    retired_spans = [r["path"] for r in retired if r["path"].startswith("spans/")]
    assert sorted(retired_spans) == sorted(f"spans/_retired/{p.name}" for p in old)


def test_large_merges_split_into_disjoint_trace_id_ranges(data_dir: Path) -> None:
    import duckdb

    from otel_feedback_collector.storage.datasets import (
        SPANS,
        data_file_name,
        merge_data_files,
        pending_file,
    )

    with SpanStore(data_dir, compaction_fan_in=1000) as store:
        for _ in range(4):
            for _ in range(10):
                store.write_traces(traces_request(genai_trace(text="z" * 300)[1]))
            store.flush()
        inputs = [f["path"] for f in _live(data_dir)]
    numbers = iter(range(900, 1000))
    merged = merge_data_files(
        duckdb.connect(),
        SPANS,
        inputs=inputs,
        data_dir=data_dir,
        relative_paths=lambda: data_file_name(SPANS, level=1, number=next(numbers)),
        level=1,
        run=899,
        row_group_size=16384,
        partition_bytes=4096,  # tiny, to force several ranges
    )
    assert len(merged) > 1
    assert sum(f.rows for f in merged) == 120
    ranges = []
    for data_file in merged:
        # Merge outputs wait under their hidden pending name until the swap renames them.
        assert not (data_dir / data_file.path).exists()
        ids = pq.read_table(pending_file(data_dir, data_file.path), columns=["trace_id"]).column(0).to_pylist()
        assert ids == sorted(ids)
        ranges.append((ids[0], ids[-1]))
    ranges.sort()
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:]))  # disjoint


def test_merged_span_files_have_small_row_groups_and_no_statistics_for_free_texts(data_dir: Path) -> None:
    """A one-trace read decodes the whole row group that holds it: merged row groups stay near
    ``_MERGE_ROW_GROUP_BYTES``, not a whole merge step's worth. Bounds of free texts
    (a span's input, output, attributes) are whole texts in every footer and prune nothing:
    they are not written; the keys' and times' bounds are."""
    from otel_feedback_collector.storage import store as store_module
    from otel_feedback_collector.storage.datasets import SPANS

    with SpanStore(data_dir, compaction_fan_in=1000) as store:
        for flush in range(4):
            for number in range(60):
                text = f"{flush}-{number} " + "lorem ipsum dolor sit amet " * 60  # ~1.6 KB
                store.write_traces(traces_request([span for _ in range(5) for span in genai_trace(text=text)[1]]))
            store.flush()
        store.compact(full=True)
        live = _live(data_dir)
    assert [f["level"] for f in live] == [1]
    metadata = pq.read_metadata(data_dir / live[0]["path"])
    assert metadata.num_rows == 4 * 60 * 5 * 3
    sizes = [metadata.row_group(group).total_byte_size for group in range(metadata.num_row_groups)]
    # Several row groups, none far over the budget (the budget is of decoded Arrow bytes).
    # Several row groups (a merge step's rows were written as one: a single 13 MB group
    # here), none far over the budget (the budget counts decoded Arrow bytes, estimated).
    assert metadata.num_row_groups >= 3
    assert max(sizes) < 2 * store_module._MERGE_ROW_GROUP_BYTES
    # Each holds whole traces: the groups' trace-id ranges follow one another.
    bounds = [metadata.row_group(group).column(0).statistics for group in range(metadata.num_row_groups)]
    assert all(earlier.max < later.min for earlier, later in zip(bounds, bounds[1:]))
    schema = metadata.schema.to_arrow_schema()
    for group in range(metadata.num_row_groups):
        for index, name in enumerate(schema.names):
            stated = metadata.row_group(group).column(index).is_stats_set
            assert stated == (name not in SPANS.plain_columns), name
