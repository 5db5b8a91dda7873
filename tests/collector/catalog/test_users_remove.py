"""``otel-feedback users remove``: the user is gone, signed out everywhere, others untouched."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from otel_feedback_collector.catalog import CatalogDatabase
from otel_feedback_collector.catalog.reviewer_sessions import session_reviewer, start_session
from otel_feedback_collector.catalog.users import UnknownUser, add_user, remove_user, user_names, verify_user

HOUR = dt.timedelta(hours=1)
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _users(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "otel_feedback.cli", "users", *args, "--data", str(data)],
        capture_output=True, text=True, timeout=60,
    )


def test_remove_signs_the_user_out_and_leaves_others(tmp_path: Path) -> None:
    data = tmp_path / "data"
    catalog = CatalogDatabase(data)
    add_user(catalog, "alice", password="review-pw-alpha-1")
    add_user(catalog, "bob", password="review-pw-bravo-2")
    alice_sessions = [start_session(catalog, "alice", lifetime=HOUR, now=T0) for _ in range(2)]
    bob_session = start_session(catalog, "bob", lifetime=HOUR, now=T0)

    done = _users(data, "remove", "alice")

    assert done.returncode == 0, done.stderr
    assert "Removed user alice and signed out of 2 sessions" in done.stdout
    assert user_names(catalog) == {"bob"}
    assert all(session_reviewer(catalog, s, now=T0) is None for s in alice_sessions)
    assert session_reviewer(catalog, bob_session, now=T0) == "bob"
    assert not verify_user(catalog, "alice", "review-pw-alpha-1")
    # Added again under the same name: a new password, none of the old sessions come back.
    add_user(catalog, "alice", password="review-pw-alpha-2")
    assert all(session_reviewer(catalog, s, now=T0) is None for s in alice_sessions)
    assert "alice" in _users(data, "list").stdout


def test_removing_an_unknown_user_says_so_and_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    catalog = CatalogDatabase(data)
    add_user(catalog, "bob", password="review-pw-bravo-2")

    done = _users(data, "remove", "mallory")

    assert done.returncode == 1
    assert "No user named 'mallory'" in done.stderr and "users list" in done.stderr
    assert user_names(catalog) == {"bob"}
    with pytest.raises(UnknownUser):
        remove_user(catalog, "mallory")
    with pytest.raises(ValueError, match="user name"):
        remove_user(catalog, "../etc")
