"""Logging feedback and expectations: delivery as OpenTelemetry data any backend receives.

A span cannot take events after it has ended, so an assessment travels as a
``gen_ai.evaluation.result`` event on a short EVALUATOR span created *inside the target trace*:
its parent is the target span when one is given, otherwise a stand-in parent id in that trace.
The event carries the OTel GenAI evaluation attributes, plus our extension attributes under
``otel_feedback.assessment.*`` with the exact value, source, id and target (see DESIGN.md,
"Conventions on the wire"). This works from any process that has only the trace id — the web
backend that receives a thumbs-down never traced the request itself.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from otel_feedback import _client
from otel_feedback._assessments import (
    Assessment,
    AssessmentSource,
    Expectation,
    Feedback,
    validate_assessment_id,
    validate_feedback_value,
    validate_metadata,
    validate_trace_id,
)
from otel_feedback._config import get_tracer, settings
from otel_feedback._span_types import SpanType, span_type_attributes

logger = logging.getLogger(__name__)

EVALUATION_EVENT = "gen_ai.evaluation.result"
_PREFIX = "otel_feedback.assessment."
# Marks the carrier span, so a UI can fold it into its target instead of drawing it as a step.
CARRIER_ATTRIBUTE = _PREFIX + "carrier"


class FeedbackNotDelivered(RuntimeError):
    """No TracerProvider records spans in this process, so the assessment could not be sent."""


def event_attributes(assessment: Assessment) -> dict[str, Any]:
    """The ``gen_ai.evaluation.result`` event attributes that carry ``assessment``."""
    value = assessment.value
    attributes: dict[str, Any] = {
        "gen_ai.evaluation.name": assessment.name,
        _PREFIX + "id": assessment.assessment_id,
        _PREFIX + "type": assessment.type,
        _PREFIX + "action": assessment.action,
        _PREFIX + "value": json.dumps(value, ensure_ascii=False),
        _PREFIX + "source.type": assessment.source.source_type.value,  # type: ignore[union-attr]
        _PREFIX + "source.id": assessment.source.source_id,
    }
    if isinstance(value, bool):
        attributes["gen_ai.evaluation.score.value"] = 1 if value else 0
        attributes["gen_ai.evaluation.score.label"] = "true" if value else "false"
    elif isinstance(value, (int, float)):
        attributes["gen_ai.evaluation.score.value"] = value
    elif isinstance(value, str):
        attributes["gen_ai.evaluation.score.label"] = value
    if assessment.rationale is not None:
        attributes["gen_ai.evaluation.explanation"] = assessment.rationale
    if assessment.span_id is not None:
        attributes[_PREFIX + "target.span_id"] = assessment.span_id
    if assessment.overrides is not None:
        attributes[_PREFIX + "overrides"] = assessment.overrides
    if assessment.metadata:
        attributes[_PREFIX + "metadata"] = json.dumps(assessment.metadata, ensure_ascii=False)
    if assessment.error is not None:
        attributes[_PREFIX + "error"] = assessment.error
    return attributes


def emit_assessment(assessment: Assessment) -> Assessment:
    """Send ``assessment`` as an event on a short EVALUATOR span inside its target trace.

    Raises ``FeedbackNotDelivered`` when nothing in this process records spans (call
    ``otel_feedback.configure(endpoint)`` first); a silent drop would lose the user's feedback.
    """
    if assessment.trace_id is None:
        raise ValueError("an assessment needs the trace_id it is about")
    if not settings.enabled:
        raise FeedbackNotDelivered(
            "tracing is disabled (OTEL_SDK_DISABLED / OTEL_FEEDBACK_TRACING / configure(enabled=False)), "
            "so feedback cannot be sent over OTLP"
        )
    parent_span_id = int(assessment.span_id, 16) if assessment.span_id else random.getrandbits(64) or 1
    parent = SpanContext(
        trace_id=int(assessment.trace_id, 16),
        span_id=parent_span_id,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    context = trace_api.set_span_in_context(NonRecordingSpan(parent))
    attributes = {**span_type_attributes(SpanType.EVALUATOR), CARRIER_ATTRIBUTE: True}
    span = get_tracer().start_span(f"{assessment.type} {assessment.name}", context=context, attributes=attributes)
    if not span.is_recording():
        span.end()
        raise FeedbackNotDelivered(
            "no TracerProvider records spans in this process: call otel_feedback.configure(endpoint) "
            "before logging feedback"
        )
    span.add_event(EVALUATION_EVENT, event_attributes(assessment))
    span.end()
    return assessment


def log_feedback(
    *,
    trace_id: str,
    name: str,
    value: Any = None,
    rationale: str | None = None,
    source: AssessmentSource | None = None,
    span_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    error: str | BaseException | None = None,
) -> Assessment:
    """Record a judgement of a trace (or of one span in it) and return it with its id.

    ``value`` is a bool, int, float, str, or a JSON list/dict (it may be None only with an
    ``error``). Invalid arguments raise ``ValueError`` here. The assessment travels over OTLP to
    wherever this process's spans go; ``otel_feedback.flush()`` sends it at once.
    """
    return emit_assessment(
        Feedback(
            name=name, value=value, rationale=rationale, source=source, error=error,
            metadata=metadata, trace_id=trace_id, span_id=span_id,
        )
    )


def log_expectation(
    *,
    trace_id: str,
    name: str,
    value: Any,
    source: AssessmentSource | None = None,
    span_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Assessment:
    """Record ground truth for a trace (e.g. ``expected_response``); any JSON value."""
    return emit_assessment(
        Expectation(name=name, value=value, source=source, metadata=metadata, trace_id=trace_id, span_id=span_id)
    )


# -- reading and changing stored assessments (through the collector's REST API) ------------------


def get_assessments(trace_id: str, *, history: bool = False) -> list[Assessment]:
    """The current assessments of a trace, from the configured collector.

    With ``history=True``, every row of the log instead (overridden and deleted ones too), oldest
    first. Raises ``NotFound`` for an unknown trace and ``CollectorUnavailable`` when no
    collector answers.
    """
    trace_id = validate_trace_id(trace_id)
    query = {"history": True} if history else None
    answer = _client.request_json("GET", f"/traces/{trace_id}/assessments", query=query)
    return [assessment_from_json(item) for item in answer.get("assessments") or []]


def override_feedback(
    *,
    trace_id: str,
    assessment_id: str,
    value: Any,
    rationale: str | None = None,
    source: AssessmentSource | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Assessment:
    """Replace a feedback with a new value; the old one stays in the history.

    Returns the new assessment (``action="override"``, ``overrides=assessment_id``). The
    arguments are checked here with the same rules as ``log_feedback``; the collector must be
    configured (``configure(endpoint)``).
    """
    trace_id = validate_trace_id(trace_id)
    assessment_id = validate_assessment_id(assessment_id)
    body: dict[str, Any] = {"value": validate_feedback_value(value)}
    if rationale is not None:
        if not isinstance(rationale, str):
            raise ValueError(f"rationale must be a string; got {type(rationale).__name__}")
        body["rationale"] = rationale
    if source is not None:
        body["source"] = _source_json(source)
    checked_metadata = validate_metadata(metadata)
    if checked_metadata is not None:
        body["metadata"] = checked_metadata
    answer = _client.request_json(
        "POST", f"/traces/{trace_id}/assessments/{_client.quote_segment(assessment_id)}/override", body=body
    )
    return assessment_from_json(answer)


def delete_assessment(*, trace_id: str, assessment_id: str) -> None:
    """Delete an assessment (a ``delete`` row is logged; history keeps the old one)."""
    trace_id = validate_trace_id(trace_id)
    assessment_id = validate_assessment_id(assessment_id)
    _client.request_json("DELETE", f"/traces/{trace_id}/assessments/{_client.quote_segment(assessment_id)}")


def assessment_from_json(data: Mapping[str, Any]) -> Assessment:
    """An ``Assessment`` from the REST API's JSON object."""
    source = data.get("source") or {}
    created = data.get("create_time")
    return Assessment(
        name=data["name"],
        value=data.get("value"),
        type=data.get("type") or "feedback",
        trace_id=data.get("trace_id"),
        span_id=data.get("span_id"),
        rationale=data.get("rationale"),
        source=AssessmentSource(
            source_type=source.get("source_type") or "HUMAN", source_id=source.get("source_id") or "anonymous"
        ),
        metadata=data.get("metadata") or None,
        error=data.get("error"),
        assessment_id=data["assessment_id"],
        overrides=data.get("overrides"),
        action=data.get("action") or "create",
        create_time=_parse_time(created) if created else dt.datetime.now(dt.timezone.utc),
    )


def _source_json(source: AssessmentSource) -> dict[str, str]:
    if not isinstance(source, AssessmentSource):
        raise ValueError(f"source must be an AssessmentSource; got {type(source).__name__}")
    return {"source_type": str(source.source_type), "source_id": source.source_id}


def _parse_time(text: str) -> dt.datetime:
    cleaned = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    parsed = dt.datetime.fromisoformat(cleaned)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
