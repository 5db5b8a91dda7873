"""User SQL that must be refused or fail without touching anything outside the views.

Shared by the tests of every entry point that runs a user's SQL (``search_traces(sql=...)``,
``otel-feedback sql``). ``{data}`` is the data directory, ``{scratch}`` an empty directory that
must still be empty afterwards (nothing written, nothing attached).
"""

from __future__ import annotations

from pathlib import Path

HOSTILE_SQL = [
    "SELECT * FROM read_text('/etc/passwd')",
    "FROM read_text('/etc/passwd')",
    "WITH x AS (SELECT content FROM read_text('/etc/passwd')) SELECT * FROM x",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/hostname')",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM glob('{data}/*')",
    "SELECT * FROM read_text('{data}/manifest.json')",
    "SELECT * FROM read_parquet('http://127.0.0.1:9/x.parquet')",
    "COPY (SELECT * FROM spans) TO '{scratch}/out.csv'",
    "ATTACH '{scratch}/other.db'",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "RESET allowed_paths",
    "PRAGMA database_list",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SELECT 1; SELECT 2",
    "SELECT 1 -- a comment ;\n; COPY (SELECT 1) TO '{scratch}/c.csv'",
    "SELECT 1 /* ; */ ; ATTACH '{scratch}/y.db'",
    "SELECT ';' AS s; SET threads = 1",
    "SELECT 'x;' AS s; SELECT * FROM read_text('/etc/passwd')",
]

ALLOWED_SQL = [
    "SELECT count(*) AS n FROM spans",
    "SELECT count(*) AS n FROM traces",
    "SELECT count(*) AS n FROM assessments",
    "SELECT count(*) AS n FROM assessment_log",
    "SELECT count(*) AS n FROM traces t JOIN spans s USING (trace_id) WHERE s.parent_span_id IS NULL",
]


def fill(sql: str, data_dir: Path, scratch: Path) -> str:
    """``sql`` with its ``{data}`` and ``{scratch}`` placeholders filled in."""
    return sql.replace("{data}", str(data_dir)).replace("{scratch}", str(scratch))
