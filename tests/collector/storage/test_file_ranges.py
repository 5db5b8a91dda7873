"""Each span file's range of start times and of trace ids, read from its footer (file_ranges.py)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from otel_feedback_collector.storage.file_ranges import FileRanges, file_ranges, start_range


def test_the_range_covers_every_row_group(tmp_path: Path) -> None:
    path = tmp_path / "spans.parquet"
    table = pa.table({"trace_id": ["a", "b", "c", "d"], "start_time_unix_nano": [30, 10, 40, 25]})
    pq.write_table(table, path, row_group_size=2)
    assert start_range(path) == (10, 40)


def test_no_statistics_or_no_file_means_unknown(tmp_path: Path) -> None:
    path = tmp_path / "spans.parquet"
    pq.write_table(pa.table({"start_time_unix_nano": [1, 2]}), path, write_statistics=False)
    assert start_range(path) is None
    assert start_range(tmp_path / "missing.parquet") is None


def test_a_replaced_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "spans.parquet"
    pq.write_table(pa.table({"start_time_unix_nano": [5, 6]}), path)
    assert start_range(path) == (5, 6)
    pq.write_table(pa.table({"start_time_unix_nano": [7, 900]}), path)
    assert start_range(path) == (7, 900)


def test_the_trace_id_range_comes_with_the_start_range(tmp_path: Path) -> None:
    path = tmp_path / "spans.parquet"
    table = pa.table({"trace_id": ["b1", "a0", "c2", "b9"], "start_time_unix_nano": [3, 1, 4, 2]})
    pq.write_table(table, path, row_group_size=2)
    assert file_ranges(path) == FileRanges(start=(1, 4), trace_id=("a0", "c2"))
    pq.write_table(pa.table({"start_time_unix_nano": [5]}), path)  # no trace id column
    assert file_ranges(path) == FileRanges(start=(5, 5), trace_id=None)
