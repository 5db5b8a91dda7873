"""Raw SQL is allowed only as one read-only SELECT; everything else is refused before running."""

from __future__ import annotations

import pytest

from otel_feedback_collector.query import run_readonly_select


def test_a_select_and_a_with_query_run(connection):
    table = run_readonly_select(connection, "SELECT count(*) AS n FROM traces")
    assert table.column("n").to_pylist() == [5]
    table = run_readonly_select(connection, "WITH x AS (SELECT name FROM spans) SELECT count(*) AS n FROM x")
    assert table.column("n").to_pylist() == [8]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DROP VIEW spans", "got a DROP statement"),
        ("SELECT 1; DROP VIEW spans", "exactly one SELECT statement; got 2"),
        ("CREATE TABLE t AS SELECT 1", "got a CREATE statement"),
        ("COPY (SELECT 1) TO '/tmp/x.csv'", "got a COPY statement"),
        ("ATTACH 'other.db'", "got a ATTACH statement"),
        ("SET threads = 1", "got a SET statement"),
        ("", "non-empty SELECT"),
        ("SELEC 1", "could not be parsed"),
        ("SELECT * FROM no_such_table", "The query failed"),
    ],
)
def test_anything_else_is_refused(connection, sql: str, message: str):
    with pytest.raises(ValueError, match=message):
        run_readonly_select(connection, sql)
    assert run_readonly_select(connection, "SELECT count(*) AS n FROM spans").column("n").to_pylist() == [8]
