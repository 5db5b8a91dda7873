"""A query whose snapshot lost a file to compaction is recognised and retried once on a new
snapshot; any other failure is raised as it is, without a retry."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from otel_feedback_collector.storage.moved_files import (
    is_moved_file_error,
    read_with_retry,
    retry_after_refresh,
)


def _view_over(path: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(f"CREATE VIEW v AS SELECT * FROM read_parquet(['{path}'])")
    return connection


def test_a_file_gone_from_a_views_path_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"x": [1, 2, 3]}), path)
    connection = _view_over(path)
    path.rename(tmp_path / "b.parquet")
    with pytest.raises(duckdb.IOException) as gone:
        connection.execute("SELECT count(*) FROM v").fetchone()
    assert is_moved_file_error(gone.value)
    assert is_moved_file_error(FileNotFoundError(2, "No such file or directory"))
    with pytest.raises(duckdb.Error) as other:
        connection.execute("SELECT nonsense FROM nowhere").fetchone()
    assert not is_moved_file_error(other.value)


def test_read_with_retry_takes_a_new_snapshot_once(tmp_path: Path) -> None:
    old, new = tmp_path / "old.parquet", tmp_path / "new.parquet"
    pq.write_table(pa.table({"x": [1, 2, 3]}), old)
    snapshots = [_view_over(old)]
    old.rename(new)  # "compaction": the next snapshot names the new file
    connects = iter([snapshots[0], _view_over(new)])
    assert read_with_retry(
        lambda: next(connects), lambda c: c.execute("SELECT sum(x) FROM v").fetchone()
    ) == (6,)


def test_other_failures_and_a_second_miss_are_raised(tmp_path: Path) -> None:
    refreshes = []
    with pytest.raises(ZeroDivisionError):
        retry_after_refresh(lambda: 1 / 0, lambda: refreshes.append(1))
    assert refreshes == []  # not a moved file: no new snapshot, no retry

    connection = duckdb.connect()

    def missing() -> object:
        return connection.execute(f"SELECT * FROM read_parquet('{tmp_path}/never.parquet')").fetchall()

    with pytest.raises(duckdb.IOException):
        retry_after_refresh(missing, lambda: refreshes.append(1))
    assert refreshes == [1]  # retried once, then the real error
