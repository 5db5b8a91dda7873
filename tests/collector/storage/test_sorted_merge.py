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


def test_a_merge_step_is_cut_into_row_groups_that_end_between_traces(tmp_path: Path) -> None:
    """Row groups of about the asked size, each holding whole traces; a trace larger than a
    row group stays whole in one. (Written as it came, a row group held a whole merge step.)"""
    from otel_feedback_collector.storage.sorted_merge import merge_sorted_files

    schema = pa.schema([pa.field("trace_id", pa.string()), pa.field("span_id", pa.string()), pa.field("text", pa.string())])
    sizes = [3, 1, 7, 200, 2] * 8  # spans per trace; one of 200 per five
    rows = [(f"{trace:032x}", f"{span:016x}", "t" * 100) for trace, size in enumerate(sizes) for span in range(size)]
    inputs = []
    for part in range(2):  # two inputs, each a sorted half of every trace
        half = sorted(row for index, row in enumerate(rows) if index % 2 == part)
        path = tmp_path / f"in{part}.parquet"
        pq.write_table(pa.table({name: [row[i] for row in half] for i, name in enumerate(schema.names)}, schema=schema), path)
        inputs.append(path)
    out = tmp_path / "out.parquet"
    merge_sorted_files(
        inputs, schema=schema, key_columns=("trace_id", "span_id"), sort_columns=("trace_id", "span_id"),
        open_output=lambda: out, close_output=lambda path, count: None, on_row_group=lambda table: None,
        row_group_rows=64, row_group_bytes=1 << 30, file_bytes=1 << 40, input_budget_bytes=1 << 30,
    )
    merged = pq.ParquetFile(out)
    assert merged.metadata.num_rows == len(rows)
    assert merged.read().to_pylist() == [dict(zip(schema.names, row)) for row in sorted(rows)]
    groups = [merged.read_row_group(group, columns=["trace_id"]).column(0).to_pylist() for group in range(merged.num_row_groups)]
    for earlier, later in zip(groups, groups[1:]):
        assert earlier[-1] < later[0]  # no trace in two groups
    # Each group stops at the first trace end at or past 64 rows (the last takes what is left).
    for group in groups[:-1]:
        assert len(group) >= 64
        assert len(group) - group.count(group[-1]) < 64
    assert max(len(group) for group in groups) >= 200
