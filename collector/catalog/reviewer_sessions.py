"""Signed-in review-app sessions, kept in the catalog so that signing out ends them.

SECURITY RULE: a session is a random 256-bit id given to the browser (in the signed cookie of
:mod:`otel_feedback_collector.labeling.reviewer_auth`); the catalog keeps only its SHA-256, so a copy of the
catalog does not sign anyone in. A session names its reviewer until it expires (12 h after sign-in)
or is ended by signing out; a session of a user who no longer exists names no one. Expired rows are
deleted whenever someone signs in, and a reviewer keeps at most :data:`MAX_SESSIONS_PER_REVIEWER`
(the oldest go first), so the table stays small.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from otel_feedback_collector.catalog.database import CatalogDatabase

MAX_SESSIONS_PER_REVIEWER = 20


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else dt.datetime.now(dt.timezone.utc)


def start_session(catalog: CatalogDatabase, reviewer: str, *, lifetime: dt.timedelta,
                  now: dt.datetime | None = None) -> str:
    """Record a new session for ``reviewer`` and return its id (for the cookie, never stored)."""
    session_id = secrets.token_urlsafe(32)
    created = _now(now)
    with catalog.transaction() as connection:
        connection.execute("DELETE FROM reviewer_sessions WHERE expires_time <= ?", [created])
        connection.execute("INSERT INTO reviewer_sessions VALUES (?, ?, ?, ?)",
                           [_hash(session_id), reviewer, created, created + lifetime])
        connection.execute(
            """DELETE FROM reviewer_sessions WHERE reviewer = ? AND session_hash NOT IN (
                   SELECT session_hash FROM reviewer_sessions WHERE reviewer = ?
                   ORDER BY created_time DESC LIMIT ?)""",
            [reviewer, reviewer, MAX_SESSIONS_PER_REVIEWER],
        )
    return session_id


def session_reviewer(catalog: CatalogDatabase, session_id: str, *, now: dt.datetime | None = None) -> str | None:
    """The reviewer of a live session, or None when it is unknown, ended or expired."""
    with catalog.transaction() as connection:
        row = connection.execute(
            """SELECT s.reviewer FROM reviewer_sessions s JOIN users u ON u.name = s.reviewer
               WHERE s.session_hash = ? AND s.expires_time > ?""",
            [_hash(session_id), _now(now)],
        ).fetchone()
    return None if row is None else str(row[0])


def end_session(catalog: CatalogDatabase, session_id: str) -> None:
    """End a session (signing out): its cookie names no one from now on."""
    with catalog.transaction() as connection:
        connection.execute("DELETE FROM reviewer_sessions WHERE session_hash = ?", [_hash(session_id)])


def session_count(catalog: CatalogDatabase) -> int:
    """How many session rows the catalog holds (expired ones until the next sign-in prunes them)."""
    with catalog.transaction() as connection:
        return int(connection.execute("SELECT count(*) FROM reviewer_sessions").fetchone()[0])
