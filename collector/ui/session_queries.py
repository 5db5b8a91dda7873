"""Sessions of an experiment: the traces that share a ``session_id``
(``update_current_trace(session=...)``, the ``session.id`` attribute), read from the ``traces``
view and aggregated in SQL; one page of sessions or one conversation at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from otel_feedback_collector.api.queries import fetch_dicts

SESSIONS_PER_PAGE = 50
# A conversation page shows at most this many turns (the first ones).
MAX_TURNS = 500


@dataclass(frozen=True)
class FeedbackCount:
    """How one feedback name came out over a session's turns: thumbs up, down, other values."""

    name: str
    up: int
    down: int
    other: int


@dataclass
class SessionSummary:
    """One row of the sessions list."""

    session_id: str
    turns: int
    first_time: dt.datetime | None
    last_time: dt.datetime | None
    first_trace_id: str
    first_preview: str | None
    total_tokens: int | None
    feedback: list[FeedbackCount] = field(default_factory=list)
    first_question: str = ""  # readable text of the first turn's request (filled by the page)


def session_page(
    connection: duckdb.DuckDBPyConnection, experiment: str, *, page: int = 0, per_page: int = SESSIONS_PER_PAGE
) -> tuple[list[SessionSummary], int]:
    """One page of the experiment's sessions, the most recently active first, and how many
    sessions it has in all."""
    total = connection.execute(
        "SELECT count(DISTINCT session_id) FROM traces WHERE experiment = ? AND session_id IS NOT NULL", [experiment]
    ).fetchone()[0]
    rows = connection.execute(
        """SELECT session_id, count(*), min(start_time), max(start_time),
                  arg_min(trace_id, start_time), arg_min(request_preview, start_time), sum(total_tokens)::BIGINT
           FROM traces WHERE experiment = ? AND session_id IS NOT NULL
           GROUP BY session_id ORDER BY max(start_time) DESC, session_id LIMIT ? OFFSET ?""",
        [experiment, per_page, page * per_page],
    ).fetchall()
    sessions = [SessionSummary(*row) for row in rows]
    counts = feedback_counts(connection, experiment, [s.session_id for s in sessions])
    for summary in sessions:
        summary.feedback = counts.get(summary.session_id, [])
    return sessions, total


def feedback_counts(
    connection: duckdb.DuckDBPyConnection, experiment: str, session_ids: Sequence[str]
) -> dict[str, list[FeedbackCount]]:
    """Per session, each feedback name's count of true, false and other values."""
    if not session_ids:
        return {}
    rows = connection.execute(
        """SELECT t.session_id, a.name,
                  count(*) FILTER (WHERE a.value = 'true'), count(*) FILTER (WHERE a.value = 'false'),
                  count(*) FILTER (WHERE a.value NOT IN ('true', 'false'))
           FROM assessments a JOIN traces t ON a.trace_id = t.trace_id
           WHERE t.experiment = ? AND list_contains(?, t.session_id) AND a.type = 'feedback'
           GROUP BY ALL ORDER BY 1, 2""",
        [experiment, list(session_ids)],
    ).fetchall()
    counts: dict[str, list[FeedbackCount]] = {}
    for session_id, name, up, down, other in rows:
        counts.setdefault(session_id, []).append(FeedbackCount(name, up, down, other))
    return counts


def conversation_turns(
    connection: duckdb.DuckDBPyConnection, experiment: str, session_id: str, *, limit: int = MAX_TURNS
) -> list[dict[str, Any]]:
    """The session's traces in time order (at most ``limit``), as ``traces`` rows."""
    return fetch_dicts(
        connection,
        """SELECT trace_id, name, request_preview, response_preview, start_time, duration_ms, status,
                  total_tokens, user_id
           FROM traces WHERE experiment = ? AND session_id = ?
           ORDER BY start_time, trace_id LIMIT ?""",
        [experiment, session_id, limit],
    )


def turn_assessments(connection: duckdb.DuckDBPyConnection, trace_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The current assessments of these traces, by trace id, feedback first then by name."""
    if not trace_ids:
        return {}
    rows = fetch_dicts(
        connection,
        """SELECT trace_id, span_id, name, type, value, rationale, source_type, source_id FROM assessments
           WHERE list_contains(?, trace_id) ORDER BY trace_id, type DESC, name, created_time_unix_nano""",
        [list(trace_ids)],
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["trace_id"], []).append(row)
    return found
