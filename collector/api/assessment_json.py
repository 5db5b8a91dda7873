"""The Assessment object of the REST contract, and the current state of a trace's log.

Every endpoint answers an assessment through :func:`assessment_to_json`, whether the row was
just written (an :class:`AssessmentRecord` in memory) or read back from ``assessment_log`` (via
:func:`record_from_row`), so a replayed request gets byte-for-byte the same object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from otel_feedback_collector.api.encoding import rfc3339_from_unix_nano
from otel_feedback_collector.storage import AssessmentRecord
from otel_feedback_core.assessments import CREATE, DELETE, OVERRIDE
from otel_feedback_core.json_text import decode_json_text

_WRITE_ACTIONS = (CREATE, OVERRIDE)
_REPLACING_ACTIONS = (OVERRIDE, DELETE)


def assessment_to_json(record: AssessmentRecord) -> dict[str, Any]:
    """The contract's Assessment object for one log row."""
    # The keys are otel_feedback_core.assessments.ASSESSMENT_JSON_FIELDS, which the SDK reads.
    return {
        "assessment_id": record.assessment_id,
        "trace_id": record.trace_id,
        "span_id": record.span_id,
        "name": record.name,
        "type": record.type,
        "value": record.value,
        "rationale": record.rationale,
        "source": {"source_type": record.source_type, "source_id": record.source_id},
        "metadata": dict(record.metadata) if record.metadata else {},
        "error": record.error,
        "overrides": record.overrides,
        "action": record.action,
        "create_time": rfc3339_from_unix_nano(record.created_time_unix_nano),
    }


def record_from_row(row: Mapping[str, Any]) -> AssessmentRecord:
    """An ``assessment_log`` row (column name → value) as an :class:`AssessmentRecord`."""
    return AssessmentRecord(
        trace_id=row["trace_id"],
        name=row["name"],
        value=_parse_json(row["value"]),
        assessment_id=row["assessment_id"],
        span_id=row["span_id"],
        type=row["type"],
        action=row["action"],
        rationale=row["rationale"],
        source_type=row["source_type"],
        source_id=row["source_id"],
        overrides=row["overrides"],
        metadata=_parse_json(row["metadata"]),
        error=row["error"],
        created_time_unix_nano=int(row["created_time_unix_nano"]),
    )


def oldest_first(records: Iterable[AssessmentRecord]) -> list[AssessmentRecord]:
    """Records de-duplicated on ``assessment_id`` (first seen wins), oldest first."""
    unique: dict[str, AssessmentRecord] = {}
    for record in records:
        unique.setdefault(record.assessment_id, record)
    return sorted(unique.values(), key=lambda r: (r.created_time_unix_nano, r.assessment_id))


def current_assessments(log: Sequence[AssessmentRecord]) -> list[AssessmentRecord]:
    """The current state of a log: create/override rows that no override or delete names.

    The same rule as the ``assessments`` view (collector/storage/views.py); applied here to a
    trace's log plus the rows this process wrote that are not in Parquet yet.
    """
    replaced = {r.overrides for r in log if r.action in _REPLACING_ACTIONS and r.overrides}
    return [r for r in log if r.action in _WRITE_ACTIONS and r.assessment_id not in replaced]


def replacement_of(log: Sequence[AssessmentRecord], assessment_id: str) -> AssessmentRecord | None:
    """The row that overrode or deleted ``assessment_id``, or None while it is current."""
    for record in log:
        if record.overrides == assessment_id and record.action in _REPLACING_ACTIONS:
            return record
    return None


def latest_values(current: Sequence[AssessmentRecord]) -> dict[str, Any]:
    """``{name: value}`` of current assessments; with several of one name, the newest wins."""
    values: dict[str, Any] = {}
    for record in sorted(current, key=lambda r: (r.created_time_unix_nano, r.assessment_id)):
        values[record.name] = record.value
    return values


def _parse_json(text: str | None) -> Any:
    # Values stored before nesting was bounded may be too deep to parse: they read as text.
    return decode_json_text(text)
