"""Request bodies of the assessment endpoints → validated :class:`AssessmentRecord` rows.

One set of rules for every path: names, values, sources, ids and metadata are checked by the
SDK's own validators (``otel_feedback_core.assessments``), so the REST API accepts exactly what
``log_feedback`` / ``log_expectation`` accept. A failing value raises :class:`ApiError` 422 with
the validator's sentence; unknown fields are refused too (a typo must not silently drop data).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from otel_feedback_collector.api.errors import ApiError
from otel_feedback_collector.api.json_body import check_fields
from otel_feedback_collector.storage import AssessmentRecord
from otel_feedback_core.assessments import (
    ANONYMOUS_SOURCE,
    EXPECTATION,
    FEEDBACK,
    Assessment,
    AssessmentSource,
    Expectation,
    Feedback,
    validate_assessment_id,
    validate_feedback_value,
    validate_json_value,
    validate_metadata,
)

DEFAULT_SOURCE = ANONYMOUS_SOURCE

CREATE_FIELDS = (
    "name", "type", "value", "rationale", "source", "span_id", "metadata", "error", "assessment_id",
)
OVERRIDE_FIELDS = ("value", "rationale", "source", "metadata")
DELETE_FIELDS = ("source",)



def new_assessment(body: Mapping[str, Any], *, trace_id: str) -> AssessmentRecord:
    """The ``create`` row for a POST to ``/traces/{trace_id}/assessments``."""
    check_fields(body, CREATE_FIELDS)
    kind = body.get("type", FEEDBACK)
    assessment_id = body.get("assessment_id")
    with _unprocessable():
        if kind not in (FEEDBACK, EXPECTATION):
            raise ValueError(f"type must be 'feedback' or 'expectation'; got {kind!r}")
        if assessment_id is not None:
            assessment_id = validate_assessment_id(assessment_id)
        source = parse_source(body.get("source"))
        if kind == FEEDBACK:
            assessment = Feedback(
                name=body.get("name"),  # type: ignore[arg-type]
                value=body.get("value"),
                rationale=body.get("rationale"),
                source=source,
                error=body.get("error"),
                metadata=body.get("metadata"),
                trace_id=trace_id,
                span_id=body.get("span_id"),
            )
        else:
            if "value" not in body:
                raise ValueError("an expectation needs a value (any JSON, e.g. the ideal answer)")
            if body.get("error") is not None:
                raise ValueError("error is only for feedback; leave it out of an expectation")
            assessment = Expectation(
                name=body.get("name"),  # type: ignore[arg-type]
                value=body["value"],
                source=source,
                metadata=body.get("metadata"),
                trace_id=trace_id,
                span_id=body.get("span_id"),
            )
        rationale = optional_text("rationale", body.get("rationale"))
    return record_from_assessment(
        assessment,
        assessment_id=assessment_id or assessment.assessment_id,
        rationale=rationale,
    )


def override_of(old: AssessmentRecord, body: Mapping[str, Any]) -> AssessmentRecord:
    """The ``override`` row replacing ``old``: same trace, span, name and type, a new value."""
    check_fields(body, OVERRIDE_FIELDS)
    with _unprocessable():
        if "value" not in body:
            raise ValueError("an override needs the new value")
        if old.type == FEEDBACK:
            value = validate_feedback_value(body["value"])
        else:
            value = validate_json_value("expectation value", body["value"])
        source = parse_source(body.get("source"))
        metadata = validate_metadata(body.get("metadata"))
        rationale = optional_text("rationale", body.get("rationale"))
    return _replacing(old, "override", source, value=value, rationale=rationale, metadata=metadata)


def deletion_of(old: AssessmentRecord, body: Mapping[str, Any]) -> AssessmentRecord:
    """The ``delete`` row removing ``old`` from the current state (it stays in the history)."""
    check_fields(body, DELETE_FIELDS)
    with _unprocessable():
        source = parse_source(body.get("source"))
    return _replacing(old, "delete", source)


def parse_source(raw: Any) -> AssessmentSource:
    """``{"source_type", "source_id"}`` as an :class:`AssessmentSource`; absent → HUMAN/anonymous."""
    if raw is None:
        return DEFAULT_SOURCE
    if not isinstance(raw, dict):
        raise ValueError('source must be an object like {"source_type": "HUMAN", "source_id": "user_1"}')
    unknown = sorted(set(raw) - {"source_type", "source_id"})
    if unknown:
        raise ValueError(f"source has unknown fields {unknown}; it takes source_type and source_id")
    return AssessmentSource(
        source_type=raw.get("source_type", "HUMAN"), source_id=raw.get("source_id", "anonymous")
    )


def optional_text(what: str, value: Any) -> str | None:
    """``value`` if it is a string or None; else a ValueError naming ``what``."""
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{what} must be a string; got {type(value).__name__}")
    return value


def record_from_assessment(
    assessment: Assessment, *, assessment_id: str, rationale: str | None
) -> AssessmentRecord:
    """The log row for a validated SDK :class:`Assessment`."""
    source = assessment.source
    return AssessmentRecord(
        trace_id=assessment.trace_id or "",
        span_id=assessment.span_id,
        name=assessment.name,
        type=assessment.type,
        value=assessment.value,
        assessment_id=assessment_id,
        action="create",
        rationale=rationale,
        source_type=str(source.source_type),
        source_id=source.source_id,
        metadata=assessment.metadata,
        error=assessment.error,
    )


def _replacing(
    old: AssessmentRecord,
    action: str,
    source: AssessmentSource,
    *,
    value: Any = None,
    rationale: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> AssessmentRecord:
    """A new row that overrides or deletes ``old``: same trace, span, name and type."""
    return AssessmentRecord(
        trace_id=old.trace_id,
        span_id=old.span_id,
        name=old.name,
        type=old.type,
        value=value,
        action=action,
        overrides=old.assessment_id,
        rationale=rationale,
        source_type=str(source.source_type),
        source_id=source.source_id,
        metadata=metadata,
    )


@contextlib.contextmanager
def _unprocessable() -> Iterator[None]:
    """Turn a validator's ValueError into a 422 :class:`ApiError` carrying its sentence."""
    try:
        yield
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
