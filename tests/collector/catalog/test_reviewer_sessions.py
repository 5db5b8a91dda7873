"""Review-app sessions in the catalog: live until signed out or expired, pruned, bounded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from otel_feedback_collector.catalog import CatalogDatabase
from otel_feedback_collector.catalog.reviewer_sessions import (
    MAX_SESSIONS_PER_REVIEWER,
    end_session,
    session_count,
    session_reviewer,
    start_session,
)
from otel_feedback_collector.catalog.users import add_user

HOUR = dt.timedelta(hours=1)
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


@pytest.fixture
def catalog(tmp_path: Path) -> CatalogDatabase:
    catalog = CatalogDatabase(tmp_path / "data")
    add_user(catalog, "alice", password="review-pw-alpha-1")
    add_user(catalog, "bob", password="review-pw-bravo-2")
    return catalog


def test_a_session_names_its_reviewer_until_it_is_ended(catalog: CatalogDatabase) -> None:
    first = start_session(catalog, "alice", lifetime=HOUR, now=T0)
    second = start_session(catalog, "alice", lifetime=HOUR, now=T0)
    assert session_reviewer(catalog, first, now=T0) == "alice"
    end_session(catalog, first)
    assert session_reviewer(catalog, first, now=T0) is None
    assert session_reviewer(catalog, second, now=T0) == "alice"  # the other browser stays signed in


def test_expired_unknown_and_foreign_sessions_name_no_one(catalog: CatalogDatabase) -> None:
    session = start_session(catalog, "alice", lifetime=HOUR, now=T0)
    assert session_reviewer(catalog, session, now=T0 + HOUR - dt.timedelta(seconds=1)) == "alice"
    assert session_reviewer(catalog, session, now=T0 + HOUR) is None
    assert session_reviewer(catalog, "not-a-session", now=T0) is None
    ghost = start_session(catalog, "deleted-user", lifetime=HOUR, now=T0)
    assert session_reviewer(catalog, ghost, now=T0) is None


def test_only_hashes_are_stored_and_expired_rows_are_pruned(catalog: CatalogDatabase) -> None:
    session = start_session(catalog, "alice", lifetime=HOUR, now=T0)
    with catalog.transaction() as connection:
        stored = [row[0] for row in connection.execute("SELECT session_hash FROM reviewer_sessions").fetchall()]
    assert session not in stored and len(stored) == 1
    start_session(catalog, "bob", lifetime=HOUR, now=T0 + 2 * HOUR)
    assert session_count(catalog) == 1


def test_a_reviewer_keeps_at_most_the_newest_sessions(catalog: CatalogDatabase) -> None:
    sessions = [start_session(catalog, "alice", lifetime=HOUR, now=T0 + dt.timedelta(seconds=i))
                for i in range(MAX_SESSIONS_PER_REVIEWER + 3)]
    assert session_count(catalog) == MAX_SESSIONS_PER_REVIEWER
    assert session_reviewer(catalog, sessions[0], now=T0) is None
    assert session_reviewer(catalog, sessions[-1], now=T0) == "alice"
