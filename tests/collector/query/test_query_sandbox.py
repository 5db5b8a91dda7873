"""User SQL runs where it can read the views and nothing else (collector/query/sandbox.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_sql import ALLOWED_SQL, HOSTILE_SQL, fill
from search_dataset import SearchData

from otel_feedback_collector.query import connect_for_user_sql, run_readonly_select


@pytest.mark.parametrize("sql", ALLOWED_SQL)
def test_queries_over_the_views_work(search_data: SearchData, sql: str) -> None:
    connection = connect_for_user_sql(search_data.data_dir)
    try:
        assert run_readonly_select(connection, sql).column("n").to_pylist()[0] > 0
    finally:
        connection.close()


@pytest.mark.parametrize("sql", HOSTILE_SQL)
def test_anything_outside_the_views_is_refused(search_data: SearchData, tmp_path: Path, sql: str) -> None:
    connection = connect_for_user_sql(search_data.data_dir)
    try:
        with pytest.raises(ValueError):
            run_readonly_select(connection, fill(sql, search_data.data_dir, tmp_path))
        # The connection is still usable and still locked.
        assert run_readonly_select(connection, "SELECT count(*) AS n FROM spans").column("n").to_pylist() == [8]
        with pytest.raises(ValueError):
            run_readonly_select(connection, "SELECT * FROM read_text('/etc/passwd')")
    finally:
        connection.close()
    assert list(tmp_path.iterdir()) == []


def test_an_empty_data_directory_still_answers(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    connection = connect_for_user_sql(tmp_path / "data")
    try:
        assert run_readonly_select(connection, "SELECT count(*) AS n FROM traces").column("n").to_pylist() == [0]
    finally:
        connection.close()


def test_the_working_directorys_tmp_is_not_readable(
    search_data: SearchData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DuckDB's default spill directory is ./.tmp, which it keeps readable: the sandbox must not.
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "secret.txt").write_text("secret")
    connection = connect_for_user_sql(search_data.data_dir)
    try:
        with pytest.raises(ValueError, match="Permission"):
            run_readonly_select(connection, f"SELECT * FROM read_text('{tmp_path}/.tmp/secret.txt')")
        spill = Path(run_readonly_select(connection, "SELECT current_setting('temp_directory') AS t").column("t")[0].as_py())
        assert spill.is_dir() and list(spill.iterdir()) == []
    finally:
        connection.close()
        del connection
    assert not spill.exists()
