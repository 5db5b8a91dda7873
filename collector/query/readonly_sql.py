"""Running a user's raw SQL against the views, read-only.

RULE: exactly one statement, and it must be a query (SELECT, or WITH ... SELECT). Anything else
— DDL, INSERT, COPY, ATTACH, SET, PRAGMA, or a second statement after a semicolon — is refused
before it runs. DuckDB's own parser decides the statement type, so quoting tricks cannot
disguise one statement as another. The connection itself should come from sandbox.py
(``connect_for_user_sql``), so that even a SELECT cannot read other files (``read_text``,
``read_csv``, ``glob``) or reach the network.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa


def run_readonly_select(connection: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """Run one SELECT/WITH query and return its result; ``ValueError`` for anything else."""
    check_single_select(connection, sql)
    try:
        relation = connection.sql(sql)
    except duckdb.Error as exc:
        raise ValueError(f"The query failed: {exc}") from None
    assert relation is not None  # a SELECT always gives a relation
    # DuckDB 1.x calls it fetch_arrow_table(); 2.x to_arrow_table().
    to_table = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
    try:
        return to_table()
    except duckdb.Error as exc:
        raise ValueError(f"The query failed: {exc}") from None


def check_single_select(connection: duckdb.DuckDBPyConnection, sql: str) -> None:
    """``ValueError`` unless ``sql`` is exactly one SELECT (or WITH ... SELECT) statement."""
    if not isinstance(sql, str) or not sql.strip():
        raise ValueError("sql must be a non-empty SELECT query, e.g. \"SELECT * FROM traces LIMIT 10\".")
    try:
        statements = connection.extract_statements(sql)
    except duckdb.Error as exc:
        raise ValueError(f"The SQL could not be parsed: {exc}") from None
    if len(statements) != 1:
        raise ValueError(f"sql must be exactly one SELECT statement; got {len(statements)} statements.")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise ValueError(
            f"sql must be a read-only SELECT (or WITH ... SELECT) query; got a {statements[0].type.name} statement."
        )
