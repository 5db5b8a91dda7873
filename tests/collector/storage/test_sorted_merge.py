"""The streaming merge's batch sizing (sorted_merge.py): the decoded width of a row, which
sets how many rows a read-ahead budget holds, from the footer where it can be trusted and from
a sample where it cannot."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from otel_feedback_collector.storage.sorted_merge import decoded_row_bytes


def _write(path: Path, table: pa.Table, *, dictionary: list[str]) -> Path:
    pq.write_table(table, path, compression="snappy", use_dictionary=dictionary)
    return path


def _decoded(path: Path) -> float:
    return pq.read_table(path).nbytes / pq.read_metadata(path).num_rows


def test_the_row_width_counts_plain_and_dictionary_columns_as_decoded(tmp_path: Path) -> None:
    rows = 3000
    table = pa.table(
        {
            "trace_id": [f"{i:032x}" for i in range(rows)],
            # Unique texts, written plain: the footer's uncompressed size is their decoded size.
            "attributes": [f"{i:08d}" + "x" * 1000 for i in range(rows)],
            # One long text repeated, dictionary-encoded: a few bytes a row in Parquet, 2 KB
            # once decoded. Only a sample tells.
            "input": ["y" * 2000] * rows,
        }
    )
    path = _write(tmp_path / "mixed.parquet", table, dictionary=["trace_id", "input"])
    assert pq.read_metadata(path).row_group(0).total_byte_size / rows < 1200  # what the footer says
    estimate = decoded_row_bytes([path])
    assert abs(estimate - _decoded(path)) / _decoded(path) < 0.05
    # The widest of several files sets the width.
    narrow = _write(tmp_path / "narrow.parquet", table.select(["trace_id"]), dictionary=[])
    assert decoded_row_bytes([narrow, path]) == estimate
    assert abs(decoded_row_bytes([narrow]) - _decoded(narrow)) / _decoded(narrow) < 0.05
