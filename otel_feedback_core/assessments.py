"""Assessments: judgements attached to a trace (feedback) and ground truth for it (expectations).

These are plain value objects. ``Feedback`` is a judgement of what the app did — an end user's
thumbs-down, a developer's score, an LLM judge's verdict. ``Expectation`` is what the app should
have done — an expert's ideal answer or the facts it must contain. Both name their
``AssessmentSource``. Validation happens here, at the call, so a bad value is a ``ValueError``
in the caller's code rather than a row the collector has to reject later.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

# The id rules live in otel_feedback_core.ids; importers of the assessment model get them here too.
from otel_feedback_core.ids import validate_assessment_id, validate_span_id, validate_trace_id  # noqa: F401

MAX_NAME_LENGTH = 256

FEEDBACK = "feedback"
EXPECTATION = "expectation"
ASSESSMENT_TYPES = (FEEDBACK, EXPECTATION)
CREATE = "create"
OVERRIDE = "override"
DELETE = "delete"
ASSESSMENT_ACTIONS = (CREATE, OVERRIDE, DELETE)


class AssessmentSourceType(str, Enum):
    """Who made an assessment."""

    HUMAN = "HUMAN"
    LLM_JUDGE = "LLM_JUDGE"
    CODE = "CODE"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class AssessmentSource:
    """Who made an assessment: a type (HUMAN, LLM_JUDGE, CODE) and an id (a user, a scorer)."""

    source_type: AssessmentSourceType | str = AssessmentSourceType.HUMAN
    source_id: str = "default"

    def __post_init__(self) -> None:
        raw = self.source_type
        try:
            kind = raw if isinstance(raw, AssessmentSourceType) else AssessmentSourceType(str(raw).strip().upper())
        except ValueError:
            accepted = ", ".join(member.value for member in AssessmentSourceType)
            raise ValueError(f"source_type must be one of {accepted}; got {raw!r}") from None
        object.__setattr__(self, "source_type", kind)
        if not isinstance(self.source_id, str) or not self.source_id.strip():
            raise ValueError("source_id must be a non-empty string (a user id, a scorer name...)")


@dataclass(frozen=True)
class Assessment:
    """One assessment of a trace (or of one span in it), as stored and returned.

    ``overrides`` names the assessment this one supersedes; ``action`` is ``create``,
    ``override`` or ``delete`` (each is a new row in the append-only log).
    """

    name: str
    value: Any
    type: str
    trace_id: str | None = None
    span_id: str | None = None
    rationale: str | None = None
    source: AssessmentSource = field(default_factory=AssessmentSource)
    metadata: Mapping[str, Any] | None = None
    error: str | None = None
    assessment_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    overrides: str | None = None
    action: str = "create"
    create_time: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))


def Feedback(  # noqa: N802 - reads as a type at call sites, as in the tutorial
    *,
    name: str,
    value: Any = None,
    rationale: str | None = None,
    source: AssessmentSource | None = None,
    error: str | BaseException | None = None,
    metadata: Mapping[str, Any] | None = None,
    trace_id: str | None = None,
    span_id: str | None = None,
) -> Assessment:
    """A validated feedback assessment (a judgement of what the app did)."""
    error_text = _error_text(error)
    return Assessment(
        name=validate_name(name),
        value=validate_feedback_value(value, has_error=error_text is not None),
        type=FEEDBACK,
        trace_id=None if trace_id is None else validate_trace_id(trace_id),
        span_id=None if span_id is None else validate_span_id(span_id),
        rationale=_optional_str("rationale", rationale),
        source=_source(source),
        metadata=validate_metadata(metadata),
        error=error_text,
    )


def Expectation(  # noqa: N802
    *,
    name: str,
    value: Any,
    source: AssessmentSource | None = None,
    metadata: Mapping[str, Any] | None = None,
    trace_id: str | None = None,
    span_id: str | None = None,
) -> Assessment:
    """A validated expectation (ground truth: the ideal answer, the expected facts...)."""
    return Assessment(
        name=validate_name(name),
        value=validate_json_value("expectation value", value),
        type=EXPECTATION,
        trace_id=None if trace_id is None else validate_trace_id(trace_id),
        span_id=None if span_id is None else validate_span_id(span_id),
        source=_source(source),
        metadata=validate_metadata(metadata),
    )


def score_label(value: Any) -> str | None:
    """The ``gen_ai.evaluation.score.label`` of a value: booleans as ``"true"``/``"false"``,
    strings as they are, anything else none."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else None


def validate_name(name: Any) -> str:
    """An assessment name: a non-empty string of at most 256 characters."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name must be a non-empty string, e.g. 'user_feedback'")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"name must be at most {MAX_NAME_LENGTH} characters; got {len(name)}")
    return name.strip()


def validate_feedback_value(value: Any, *, has_error: bool = False) -> Any:
    """Feedback values: bool, int, float, str, or a JSON list/dict. None only with an error."""
    if value is None:
        if has_error:
            return None
        raise ValueError("feedback value must be given (bool, number, string, or a JSON list/dict)")
    if isinstance(value, (bool, int, float, str, list, dict)):
        return validate_json_value("feedback value", value)
    raise ValueError(
        f"feedback value must be a bool, int, float, str, or a JSON list/dict; got {type(value).__name__}"
    )


def validate_json_value(what: str, value: Any) -> Any:
    """Check that ``value`` is plain JSON (finite numbers, string keys); return it unchanged."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be plain JSON (no NaN, infinity or other objects): {exc}") from None
    if isinstance(value, float) and not math.isfinite(value):  # pragma: no cover - caught above
        raise ValueError(f"{what} must be a finite number")
    return value


def validate_metadata(metadata: Any) -> dict[str, Any] | None:
    """Metadata: a mapping of string keys to JSON values, or None."""
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping) or not all(isinstance(key, str) for key in metadata):
        raise ValueError("metadata must be a dict with string keys")
    return dict(validate_json_value("metadata", dict(metadata)))


def _optional_str(what: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string; got {type(value).__name__}")
    return value


def _error_text(error: str | BaseException | None) -> str | None:
    if error is None:
        return None
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"
    if not isinstance(error, str) or not error:
        raise ValueError("error must be a non-empty string or an exception")
    return error


def _source(source: AssessmentSource | None) -> AssessmentSource:
    if source is None:
        return AssessmentSource()
    if not isinstance(source, AssessmentSource):
        raise ValueError(f"source must be an AssessmentSource; got {type(source).__name__}")
    return source


# -- the JSON shape of an assessment (the REST API's Assessment object) ----------------------------

ASSESSMENT_JSON_FIELDS = (
    "assessment_id", "trace_id", "span_id", "name", "type", "value", "rationale", "source", "metadata", "error",
    "overrides", "action", "create_time",
)
"""The keys of the REST API's Assessment object, in order."""

ANONYMOUS_SOURCE = AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="anonymous")
"""The source of an assessment whose request names none."""


def source_to_json(source: AssessmentSource) -> dict[str, str]:
    """The JSON ``source`` object of an assessment: ``{"source_type": ..., "source_id": ...}``."""
    if not isinstance(source, AssessmentSource):
        raise ValueError(f"source must be an AssessmentSource; got {type(source).__name__}")
    return {"source_type": str(source.source_type), "source_id": source.source_id}


def assessment_from_json(data: Mapping[str, Any]) -> Assessment:
    """An ``Assessment`` from the REST API's JSON object."""
    source = data.get("source") or {}
    created = data.get("create_time")
    return Assessment(
        name=data["name"],
        value=data.get("value"),
        type=data.get("type") or FEEDBACK,
        trace_id=data.get("trace_id"),
        span_id=data.get("span_id"),
        rationale=data.get("rationale"),
        source=AssessmentSource(
            source_type=source.get("source_type") or ANONYMOUS_SOURCE.source_type,
            source_id=source.get("source_id") or ANONYMOUS_SOURCE.source_id,
        ),
        metadata=data.get("metadata") or None,
        error=data.get("error"),
        assessment_id=data["assessment_id"],
        overrides=data.get("overrides"),
        action=data.get("action") or CREATE,
        create_time=_parse_time(created) if created else dt.datetime.now(dt.timezone.utc),
    )


def _parse_time(text: str) -> dt.datetime:
    cleaned = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    parsed = dt.datetime.fromisoformat(cleaned)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
