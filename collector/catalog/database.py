"""``CatalogDatabase``: the DuckDB catalog file of a data directory, one writer at a time.

The catalog holds what people create by hand — users, label schemas, labeling sessions and their
items, each reviewer's answers and progress, the review app's chat agents — as opposed to the
telemetry in Parquet. It is small and changes at human speed, so every unit of work opens the file, runs in one transaction
and closes it again, under a process-wide lock. Why not keep it open: DuckDB lets only one
process open a file for writing, and ``otel-feedback users add`` must work while the collector
runs. A unit of work that meets the other process's lock retries until ``lock_timeout``.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

CATALOG_FILE = "catalog.duckdb"
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()

_DDL = (
    "CREATE TABLE IF NOT EXISTS catalog_settings (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
    """CREATE TABLE IF NOT EXISTS users (
        name VARCHAR PRIMARY KEY, password_hash VARCHAR NOT NULL, created_time TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS label_schemas (
        name VARCHAR PRIMARY KEY, definition VARCHAR NOT NULL, built_in BOOLEAN NOT NULL,
        created_time TIMESTAMPTZ NOT NULL, updated_time TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS labeling_sessions (
        session_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, label_schemas VARCHAR NOT NULL,
        assigned_users VARCHAR NOT NULL, created_time TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS labeling_items (
        session_id VARCHAR NOT NULL, trace_id VARCHAR NOT NULL, position INTEGER NOT NULL,
        added_time TIMESTAMPTZ NOT NULL, PRIMARY KEY (session_id, trace_id))""",
    """CREATE TABLE IF NOT EXISTS item_states (
        session_id VARCHAR NOT NULL, trace_id VARCHAR NOT NULL, reviewer VARCHAR NOT NULL,
        state VARCHAR NOT NULL, updated_time TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (session_id, trace_id, reviewer))""",
    """CREATE TABLE IF NOT EXISTS labels (
        session_id VARCHAR NOT NULL, trace_id VARCHAR NOT NULL, reviewer VARCHAR NOT NULL,
        schema_name VARCHAR NOT NULL, value VARCHAR NOT NULL, comment VARCHAR,
        assessment_id VARCHAR NOT NULL, updated_time TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (session_id, trace_id, reviewer, schema_name))""",
    """CREATE TABLE IF NOT EXISTS reviewer_sessions (
        session_hash VARCHAR PRIMARY KEY, reviewer VARCHAR NOT NULL,
        created_time TIMESTAMPTZ NOT NULL, expires_time TIMESTAMPTZ NOT NULL)""",
    # The review app's chat agents (catalog/agents.py); new in a catalog made before them.
    """CREATE TABLE IF NOT EXISTS agents (
        name VARCHAR PRIMARY KEY, base_url VARCHAR NOT NULL, model VARCHAR NOT NULL,
        created_time TIMESTAMPTZ NOT NULL)""",
)


class CatalogLocked(RuntimeError):
    """Another process held the catalog for longer than the lock timeout."""


class CatalogDatabase:
    """The catalog file ``<data_dir>/catalog.duckdb``; :meth:`transaction` is the only way in."""

    def __init__(self, data_dir: str | Path, *, lock_timeout: float = 10.0) -> None:
        self.path = Path(data_dir).resolve() / CATALOG_FILE
        self._lock_timeout = lock_timeout
        with _LOCKS_GUARD:
            self._lock = _LOCKS.setdefault(str(self.path), threading.Lock())
        self._ready = False

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        with self._lock:
            connection = self._open()
            try:
                if not self._ready:
                    for statement in _DDL:
                        connection.execute(statement)
                    self._ready = True
                connection.execute("BEGIN TRANSACTION")
                try:
                    yield connection
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            finally:
                connection.close()

    def secret(self) -> bytes:
        """The random key that signs review-app cookies (made on first use, kept in the catalog)."""
        with self.transaction() as connection:
            row = connection.execute("SELECT value FROM catalog_settings WHERE key = 'cookie_secret'").fetchone()
            if row is None:
                value = secrets.token_hex(32)
                connection.execute("INSERT INTO catalog_settings VALUES ('cookie_secret', ?)", [value])
                return bytes.fromhex(value)
            return bytes.fromhex(row[0])

    def _open(self) -> duckdb.DuckDBPyConnection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self._lock_timeout
        delay = 0.02
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise CatalogLocked(
                        f"The catalog {self.path} is held by another process ({exc}). Retry in a moment; "
                        "if it stays locked, check which process has it open."
                    ) from None
                time.sleep(delay)  # waiting for another process's unit of work to end
                delay = min(delay * 2, 0.2)
