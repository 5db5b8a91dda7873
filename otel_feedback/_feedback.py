"""Logging feedback and expectations: delivery as OpenTelemetry data any backend receives.

An assessment travels as one OpenTelemetry log record named ``gen_ai.evaluation.result`` (the
GenAI conventions' evaluation event), whose trace context is the target trace and, when given,
the target span; no span is created, so the trace keeps exactly the app's spans and duration.
The record carries the OTel GenAI evaluation attributes, plus our extension attributes under
``otel_feedback.assessment.*`` with the exact value, source, id and target (see DESIGN.md,
"Conventions on the wire"). This works from any process that has only the trace id — the web
backend that receives a thumbs-down never traced the request itself.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry._logs import SeverityNumber
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from otel_feedback import _client
from otel_feedback_core import wire
from otel_feedback_core.assessments import (
    Assessment,
    AssessmentSource,
    Expectation,
    Feedback,
    assessment_from_json,
    score_label,
    source_to_json,
    validate_assessment_id,
    validate_feedback_value,
    validate_metadata,
    validate_name,
    validate_span_id,
    validate_trace_id,
)
from otel_feedback._config import settings
from otel_feedback._logs import get_event_logger

logger = logging.getLogger(__name__)



class FeedbackNotDelivered(RuntimeError):
    """No LoggerProvider exists in this process (or tracing is off), so the assessment could not be sent."""


def event_attributes(assessment: Assessment) -> dict[str, Any]:
    """The ``gen_ai.evaluation.result`` log record attributes that carry ``assessment``."""
    value = assessment.value
    attributes: dict[str, Any] = {
        wire.EVALUATION_NAME: assessment.name,
        wire.ASSESSMENT_ID: assessment.assessment_id,
        wire.ASSESSMENT_TYPE: assessment.type,
        wire.ASSESSMENT_ACTION: assessment.action,
        wire.ASSESSMENT_VALUE: json.dumps(value, ensure_ascii=False),
        wire.ASSESSMENT_SOURCE_TYPE: assessment.source.source_type.value,  # type: ignore[union-attr]
        wire.ASSESSMENT_SOURCE_ID: assessment.source.source_id,
    }
    if isinstance(value, bool):
        attributes[wire.EVALUATION_SCORE_VALUE] = 1 if value else 0
    elif isinstance(value, (int, float)):
        attributes[wire.EVALUATION_SCORE_VALUE] = value
    label = score_label(value)
    if label is not None:
        attributes[wire.EVALUATION_SCORE_LABEL] = label
    if assessment.rationale is not None:
        attributes[wire.EVALUATION_EXPLANATION] = assessment.rationale
    if assessment.span_id is not None:
        attributes[wire.ASSESSMENT_TARGET_SPAN_ID] = assessment.span_id
    if assessment.overrides is not None:
        attributes[wire.ASSESSMENT_OVERRIDES] = assessment.overrides
    if assessment.metadata:
        attributes[wire.ASSESSMENT_METADATA] = json.dumps(assessment.metadata, ensure_ascii=False)
    if assessment.error is not None:
        attributes[wire.ASSESSMENT_ERROR] = assessment.error
    return attributes


def emit_assessment(assessment: Assessment) -> Assessment:
    """Send ``assessment`` as one ``gen_ai.evaluation.result`` log record in its target trace.

    The record carries the target's trace id (and span id when known) as its trace context; no
    span is created. Raises ``FeedbackNotDelivered`` when no LoggerProvider exists in this
    process (call ``otel_feedback.configure(endpoint)`` first); a silent drop would lose the
    user's feedback. Export failures later are logged by the batch processor, never raised.
    """
    if assessment.trace_id is None:
        raise ValueError("an assessment needs the trace_id it is about")
    if not settings.enabled:
        raise FeedbackNotDelivered(
            "tracing is disabled (OTEL_SDK_DISABLED / OTEL_FEEDBACK_TRACING / configure(enabled=False)), "
            "so feedback cannot be sent over OTLP"
        )
    event_logger = get_event_logger(settings.logger_provider)
    if event_logger is None:
        raise FeedbackNotDelivered(
            "no LoggerProvider is set in this process, so the assessment cannot be sent: "
            "call otel_feedback.configure(endpoint) before logging feedback "
            "(or set your own with opentelemetry._logs.set_logger_provider)"
        )
    # The record's trace context is the target: span id 0 means "the whole trace" and is
    # left out of the OTLP record by the exporter.
    target = SpanContext(
        trace_id=int(assessment.trace_id, 16),
        span_id=int(assessment.span_id, 16) if assessment.span_id else 0,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    event_logger.emit(
        timestamp=time.time_ns(),
        context=trace_api.set_span_in_context(NonRecordingSpan(target)),
        severity_number=SeverityNumber.INFO,
        event_name=wire.EVALUATION_EVENT,
        attributes=event_attributes(assessment),
    )
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
    ``error``). Invalid arguments raise ``ValueError`` here. The assessment travels over OTLP as
    one log record, to where ``configure()`` sends spans (or through the app's own
    LoggerProvider); ``otel_feedback.flush()`` sends it at once.
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
    name: str | None = None,
    span_id: str | None = None,
) -> Assessment:
    """Replace a feedback with a new value; the old one stays in the history.

    Returns the new assessment (``action="override"``, ``overrides=assessment_id``). The
    arguments are checked here with the same rules as ``log_feedback``. With ``name`` (the
    feedback's name, and ``span_id`` when it assessed a span), the override travels like
    ``log_feedback``: one ``gen_ai.evaluation.result`` log record over OTLP, to any backend.
    Without it, the configured collector's REST API is asked, which knows the name and answers
    ``NotFound`` for an unknown id.
    """
    trace_id = validate_trace_id(trace_id)
    assessment_id = validate_assessment_id(assessment_id)
    if name is not None:
        feedback = Feedback(
            name=name, value=value, rationale=rationale, source=source, metadata=metadata,
            trace_id=trace_id, span_id=span_id,
        )
        return emit_assessment(dataclasses.replace(feedback, action="override", overrides=assessment_id))
    body: dict[str, Any] = {"value": validate_feedback_value(value)}
    if rationale is not None:
        if not isinstance(rationale, str):
            raise ValueError(f"rationale must be a string; got {type(rationale).__name__}")
        body["rationale"] = rationale
    if source is not None:
        body["source"] = source_to_json(source)
    checked_metadata = validate_metadata(metadata)
    if checked_metadata is not None:
        body["metadata"] = checked_metadata
    answer = _client.request_json(
        "POST", f"/traces/{trace_id}/assessments/{_client.quote_segment(assessment_id)}/override", body=body
    )
    return assessment_from_json(answer)


def delete_assessment(
    *,
    trace_id: str,
    assessment_id: str,
    name: str | None = None,
    span_id: str | None = None,
    source: AssessmentSource | None = None,
) -> Assessment | None:
    """Delete an assessment (a ``delete`` row is logged; history keeps the old one).

    With ``name`` (the assessment's name, and ``span_id`` when it assessed a span), the delete
    travels as one ``gen_ai.evaluation.result`` log record over OTLP (``action="delete"``) and
    the row sent is returned. Without it, the configured collector's REST API is asked, which
    answers ``NotFound`` for an unknown id; then None is returned.
    """
    trace_id = validate_trace_id(trace_id)
    assessment_id = validate_assessment_id(assessment_id)
    if name is not None:
        # A delete row has no value; it is typed feedback, and the collector removes the
        # assessment it names in ``overrides`` whatever its type.
        row = Assessment(
            name=validate_name(name), value=None, type="feedback", trace_id=trace_id,
            span_id=None if span_id is None else validate_span_id(span_id),
            source=source if source is not None else AssessmentSource(),
            overrides=assessment_id, action="delete",
        )
        return emit_assessment(row)
    _client.request_json("DELETE", f"/traces/{trace_id}/assessments/{_client.quote_segment(assessment_id)}")
    return None
