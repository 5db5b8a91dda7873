"""A reviewer's answers to one item: checked against the schemas, then stored as assessments.

The rule: every answer is validated by its schema's input (``otel_feedback.label_schemas``)
before anything is written; one bad answer refuses the whole submission (422, nothing stored).
Valid answers become assessment rows with a HUMAN source, the reviewer as ``source_id`` and
the session in ``metadata``. A reviewer's second answer to the same schema is an ``override``
row of their first, so the history keeps both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from otel_feedback_collector.api.errors import ApiError
from otel_feedback_collector.catalog import CatalogDatabase
from otel_feedback_collector.catalog.sessions import LabelRecord, SessionRecord, current_labels, record_labels
from otel_feedback_collector.storage import AssessmentRecord, StoreBusy
from otel_feedback.label_schemas import LabelSchema

SESSION_ID_KEY = "labeling_session_id"
SESSION_NAME_KEY = "labeling_session_name"
MAX_COMMENT_LENGTH = 10_000


def validate_answers(
    schemas: Sequence[LabelSchema], answers: Mapping[str, Any], comments: Mapping[str, str | None]
) -> dict[str, tuple[Any, str | None]]:
    """``{schema name: (valid value, comment)}`` or :class:`ApiError` 422 naming the first problem."""
    by_name = {schema.name: schema for schema in schemas}
    unknown = sorted(set(answers) - set(by_name))
    if unknown:
        raise ApiError(422, f"This session has no label schema(s) {unknown}; answer {sorted(by_name)}.")
    valid: dict[str, tuple[Any, str | None]] = {}
    for name, value in answers.items():
        schema = by_name[name]
        comment = comments.get(name) or None
        try:
            checked = schema.input.validate(value)
            if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT_LENGTH):
                raise ValueError(f"the comment must be text of at most {MAX_COMMENT_LENGTH} characters")
        except ValueError as exc:
            raise ApiError(422, f"{schema.title} ({schema.name}): {exc}. Nothing was stored.") from None
        valid[name] = (checked, comment if schema.enable_comment else None)
    if not valid:
        raise ApiError(422, "No answer was given; answer at least one question, or skip the item.")
    return valid


def store_answers(
    store: Any,
    catalog: CatalogDatabase,
    session: SessionRecord,
    schemas: Sequence[LabelSchema],
    *,
    trace_id: str,
    reviewer: str,
    answers: Mapping[str, Any],
    comments: Mapping[str, str | None] | None = None,
) -> list[AssessmentRecord]:
    """Validate, write the assessment rows durably, remember them in the catalog; return the rows."""
    valid = validate_answers(schemas, answers, comments or {})
    types = {schema.name: schema.type for schema in schemas}
    previous = {
        label.schema_name: label.assessment_id
        for label in current_labels(catalog, session.session_id, trace_id=trace_id)
        if label.reviewer == reviewer
    }
    metadata = {SESSION_ID_KEY: session.session_id, SESSION_NAME_KEY: session.name}
    records = [
        AssessmentRecord(
            trace_id=trace_id,
            name=name,
            value=value,
            type=types[name],
            action="override" if name in previous else "create",
            overrides=previous.get(name),
            rationale=comment,
            source_type="HUMAN",
            source_id=reviewer,
            metadata=metadata,
        )
        for name, (value, comment) in valid.items()
    ]
    try:
        store.write_assessments(records)
    except StoreBusy as busy:
        raise ApiError(429, f"The collector is busy and stored nothing: {busy} Submit again in a moment.",
                       retry_after=busy.retry_after) from None
    # Make the answers visible to search_traces and the UI at once (reviews come at human speed).
    store.flush()
    record_labels(
        catalog,
        session.session_id,
        [LabelRecord(trace_id, reviewer, r.name, r.value, r.rationale, r.assessment_id) for r in records],
    )
    return records
