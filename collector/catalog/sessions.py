"""Labeling sessions in the catalog: the session, its items (traces), each reviewer's state per
item, and each reviewer's current answer per item and schema.

The answers themselves are assessments in the store (the system of record, with history); the
``labels`` table keeps the current one per reviewer so the review app can prefill the form,
override the previous assessment on resubmission, and compute agreement without a Parquet scan.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from otel_feedback_collector.catalog.database import CatalogDatabase
from otel_feedback_collector.catalog.schemas import seed_built_ins
from otel_feedback_core.labeling import ItemState


class UnknownReference(ValueError):
    """A session names a schema or user that does not exist."""


@dataclass(frozen=True)
class SessionRecord:
    """One labeling session."""

    session_id: str
    name: str
    label_schemas: list[str]
    assigned_users: list[str]
    created_time: dt.datetime

    def allows(self, user: str) -> bool:
        """True when ``user`` may label this session (anyone, when nobody is assigned)."""
        return not self.assigned_users or user in self.assigned_users


@dataclass(frozen=True)
class ItemRecord:
    """One trace in a session, its 1-based position and each reviewer's state on it."""

    trace_id: str
    position: int
    states: dict[str, ItemState] = field(default_factory=dict)

    def state_of(self, reviewer: str) -> ItemState:
        """The reviewer's state (PENDING when they never opened it)."""
        return self.states.get(reviewer, ItemState.PENDING)


@dataclass(frozen=True)
class LabelRecord:
    """A reviewer's current answer to one schema on one item."""

    trace_id: str
    reviewer: str
    schema_name: str
    value: Any
    comment: str | None
    assessment_id: str
    updated_time: dt.datetime | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _check_references(
    connection: duckdb.DuckDBPyConnection, label_schemas: Sequence[str], assigned_users: Sequence[str]
) -> None:
    seed_built_ins(connection)
    known = {row[0] for row in connection.execute("SELECT name FROM label_schemas").fetchall()}
    missing = [name for name in label_schemas if name not in known]
    if missing:
        raise UnknownReference(f"Unknown label schema(s) {missing}; create them first (create_label_schema).")
    users = {row[0] for row in connection.execute("SELECT name FROM users").fetchall()}
    unknown_users = [name for name in assigned_users if name not in users]
    if unknown_users:
        raise UnknownReference(
            f"Unknown user(s) {unknown_users}; add them with `otel-feedback users add NAME` first."
        )


def _session(row: Sequence[Any]) -> SessionRecord:
    return SessionRecord(
        session_id=row[0], name=row[1], label_schemas=json.loads(row[2]),
        assigned_users=json.loads(row[3]), created_time=row[4],
    )


def create_session(
    catalog: CatalogDatabase, name: str, *, label_schemas: Sequence[str], assigned_users: Sequence[str] = ()
) -> SessionRecord:
    """Create a session using existing schemas and users."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("A labeling session needs a non-empty name.")
    if not label_schemas:
        raise ValueError("A labeling session needs at least one label schema.")
    record = SessionRecord(uuid.uuid4().hex, name, list(dict.fromkeys(label_schemas)), list(dict.fromkeys(assigned_users)), _now())
    with catalog.transaction() as connection:
        _check_references(connection, record.label_schemas, record.assigned_users)
        connection.execute(
            "INSERT INTO labeling_sessions VALUES (?, ?, ?, ?, ?)",
            [record.session_id, name, json.dumps(record.label_schemas), json.dumps(record.assigned_users), record.created_time],
        )
    return record


def get_session(catalog: CatalogDatabase, session_id: str) -> SessionRecord | None:
    """The session with this id, or None."""
    with catalog.transaction() as connection:
        row = connection.execute("SELECT * FROM labeling_sessions WHERE session_id = ?", [session_id]).fetchone()
    return _session(row) if row else None


def list_sessions(catalog: CatalogDatabase, *, name: str | None = None) -> list[SessionRecord]:
    """Every session (or those called ``name``), oldest first."""
    with catalog.transaction() as connection:
        rows = connection.execute(
            "SELECT * FROM labeling_sessions WHERE ? IS NULL OR name = ? ORDER BY created_time", [name, name]
        ).fetchall()
    return [_session(row) for row in rows]


def delete_session(catalog: CatalogDatabase, session_id: str) -> bool:
    """Delete the session, its items, states and label pointers (the assessments stay)."""
    with catalog.transaction() as connection:
        for table in ("labels", "item_states", "labeling_items"):
            connection.execute(f"DELETE FROM {table} WHERE session_id = ?", [session_id])
        deleted = connection.execute(
            "DELETE FROM labeling_sessions WHERE session_id = ? RETURNING session_id", [session_id]
        ).fetchall()
    return bool(deleted)


def set_assigned_users(catalog: CatalogDatabase, session_id: str, users: Sequence[str]) -> SessionRecord | None:
    """Replace the session's assignees; None if there is no such session."""
    users = list(dict.fromkeys(users))
    with catalog.transaction() as connection:
        _check_references(connection, [], users)
        row = connection.execute(
            "UPDATE labeling_sessions SET assigned_users = ? WHERE session_id = ? RETURNING *",
            [json.dumps(users), session_id],
        ).fetchone()
    return _session(row) if row else None


def add_items(catalog: CatalogDatabase, session_id: str, trace_ids: Sequence[str]) -> int:
    """Append traces to the session (ones already in it are left where they are); returns how
    many were added."""
    added = 0
    with catalog.transaction() as connection:
        known = {row[0] for row in connection.execute(
            "SELECT trace_id FROM labeling_items WHERE session_id = ?", [session_id]).fetchall()}
        last = connection.execute(
            "SELECT coalesce(max(position), 0) FROM labeling_items WHERE session_id = ?", [session_id]
        ).fetchone()[0]  # type: ignore[index]
        now = _now()
        for trace_id in dict.fromkeys(trace_ids):
            if trace_id in known:
                continue
            last += 1
            added += 1
            connection.execute("INSERT INTO labeling_items VALUES (?, ?, ?, ?)", [session_id, trace_id, last, now])
    return added


def list_items(catalog: CatalogDatabase, session_id: str) -> list[ItemRecord]:
    """The session's items in order, each with every reviewer's state."""
    with catalog.transaction() as connection:
        items = connection.execute(
            "SELECT trace_id, position FROM labeling_items WHERE session_id = ? ORDER BY position", [session_id]
        ).fetchall()
        states = connection.execute(
            "SELECT trace_id, reviewer, state FROM item_states WHERE session_id = ?", [session_id]
        ).fetchall()
    by_trace: dict[str, dict[str, ItemState]] = {}
    for trace_id, reviewer, state in states:
        by_trace.setdefault(trace_id, {})[reviewer] = ItemState(state)
    return [ItemRecord(trace_id, position, by_trace.get(trace_id, {})) for trace_id, position in items]


def mark_opened(catalog: CatalogDatabase, session_id: str, trace_id: str, reviewer: str) -> None:
    """PENDING becomes IN_PROGRESS when a reviewer opens an item (other states stay)."""
    with catalog.transaction() as connection:
        connection.execute(
            "INSERT INTO item_states VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [session_id, trace_id, reviewer, ItemState.IN_PROGRESS.value, _now()],
        )


def mark_skipped(catalog: CatalogDatabase, session_id: str, trace_id: str, reviewer: str) -> None:
    """The reviewer skipped the item (their earlier answers, if any, stay)."""
    _set_state(catalog, session_id, trace_id, reviewer, ItemState.SKIPPED)


def _set_state(
    catalog: CatalogDatabase, session_id: str, trace_id: str, reviewer: str, state: ItemState,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> None:
    sql = (
        "INSERT INTO item_states VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
        "state = excluded.state, updated_time = excluded.updated_time"
    )
    params = [session_id, trace_id, reviewer, state.value, _now()]
    if connection is not None:
        connection.execute(sql, params)
        return
    with catalog.transaction() as own:
        own.execute(sql, params)


def current_labels(catalog: CatalogDatabase, session_id: str, *, trace_id: str | None = None) -> list[LabelRecord]:
    """The current answers in the session (of one item when ``trace_id`` is given)."""
    with catalog.transaction() as connection:
        rows = connection.execute(
            """SELECT trace_id, reviewer, schema_name, value, comment, assessment_id, updated_time FROM labels
               WHERE session_id = ? AND (? IS NULL OR trace_id = ?) ORDER BY trace_id, reviewer, schema_name""",
            [session_id, trace_id, trace_id],
        ).fetchall()
    return [LabelRecord(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6]) for r in rows]


def record_labels(catalog: CatalogDatabase, session_id: str, labels: Sequence[LabelRecord]) -> None:
    """Remember the reviewer's new current answers and mark their items COMPLETED."""
    now = _now()
    with catalog.transaction() as connection:
        for label in labels:
            connection.execute(
                """INSERT INTO labels VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET
                   value = excluded.value, comment = excluded.comment,
                   assessment_id = excluded.assessment_id, updated_time = excluded.updated_time""",
                [session_id, label.trace_id, label.reviewer, label.schema_name, json.dumps(label.value),
                 label.comment, label.assessment_id, now],
            )
        for trace_id, reviewer in {(label.trace_id, label.reviewer) for label in labels}:
            _set_state(catalog, session_id, trace_id, reviewer, ItemState.COMPLETED, connection)
