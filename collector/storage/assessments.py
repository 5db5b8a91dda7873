"""Assessment records: feedback and expectations attached to a trace (and optionally a span).

They arrive three ways, all landing in one append-only log (see DESIGN.md, "Conventions on the
wire"): as an OTLP log record with the event name ``gen_ai.evaluation.result`` (how the SDK
sends them), as a span event of that name on an ordinary span (other tools), and through the
REST API. Create, override and delete are all rows; nothing is updated in
place. The ``assessments`` view computes the current state.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from otel_feedback_core import wire
from otel_feedback_core.assessments import (
    ASSESSMENT_ACTIONS,
    ASSESSMENT_TYPES,
    CREATE,
    FEEDBACK,
    OVERRIDE,
    score_label,
)
from otel_feedback_core.json_text import parse_json_text
from otel_feedback_collector.storage.otlp_values import to_json
from otel_feedback_collector.storage.schema import ASSESSMENT_SCHEMA
from otel_feedback_collector.storage.value_bounds import clamped_time_ns, finite_float

EVALUATION_EVENT_NAME = wire.EVALUATION_EVENT


@dataclass(frozen=True)
class AssessmentRecord:
    """One row of the assessment log.

    ``value`` is any JSON-serializable value (booleans, numbers, strings, lists, dicts).
    ``overrides`` names the assessment this row supersedes (``action="override"``) or removes
    (``action="delete"``). ``created_time_unix_nano`` defaults to now.
    """

    trace_id: str
    name: str
    value: Any = None
    assessment_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    span_id: str | None = None
    type: str = FEEDBACK
    action: str = CREATE
    rationale: str | None = None
    source_type: str | None = "HUMAN"
    source_id: str | None = None
    overrides: str | None = None
    metadata: Mapping[str, Any] | None = None
    error: str | None = None
    created_time_unix_nano: int = field(default_factory=time.time_ns)

    def __post_init__(self) -> None:
        if self.type not in ASSESSMENT_TYPES:
            raise ValueError(
                f"Assessment type {self.type!r} is not known; use one of {ASSESSMENT_TYPES}."
            )
        if self.action not in ASSESSMENT_ACTIONS:
            raise ValueError(
                f"Assessment action {self.action!r} is not known; use one of {ASSESSMENT_ACTIONS}."
            )
        if self.action != CREATE and not self.overrides:
            raise ValueError(
                f"An assessment with action {self.action!r} must name the assessment it "
                "replaces in `overrides`."
            )
        if not self.trace_id or not self.assessment_id:
            raise ValueError("An assessment needs a trace_id and an assessment_id.")


def assessment_from_attributes(
    attributes: Mapping[str, Any],
    *,
    trace_id: str,
    span_id: str | None,
    time_unix_nano: int,
) -> AssessmentRecord | None:
    """Build a record from ``gen_ai.evaluation.result`` attributes; None if it has no name.

    ``span_id`` is the span the event or log record points at; an explicit
    ``otel_feedback.assessment.target.span_id`` wins over it.
    """
    get = attributes.get
    name = get(wire.EVALUATION_NAME)
    if not name or not trace_id:
        return None
    score_value = get(wire.EVALUATION_SCORE_VALUE)
    score_label = get(wire.EVALUATION_SCORE_LABEL)
    raw_value = get(wire.ASSESSMENT_VALUE)
    if isinstance(raw_value, str):
        try:
            value: Any = parse_json_text(raw_value)
        except ValueError:
            value = raw_value
    elif raw_value is not None:
        value = raw_value
    elif score_value is not None:
        value = score_value
    else:
        value = score_label
    overrides = _optional_text(get(wire.ASSESSMENT_OVERRIDES))
    action = _optional_text(get(wire.ASSESSMENT_ACTION)) or (OVERRIDE if overrides else CREATE)
    target_span = _optional_text(get(wire.ASSESSMENT_TARGET_SPAN_ID)) or span_id
    assessment_id = _optional_text(get(wire.ASSESSMENT_ID)) or _derived_id(
        trace_id, target_span, str(name), time_unix_nano, value
    )
    metadata = get(wire.ASSESSMENT_METADATA)
    if isinstance(metadata, str):
        try:
            metadata = parse_json_text(metadata)
        except ValueError:
            metadata = {"value": metadata}
    kind = (_optional_text(get(wire.ASSESSMENT_TYPE)) or FEEDBACK).lower()
    try:
        return AssessmentRecord(
            trace_id=trace_id,
            name=str(name),
            value=value,
            assessment_id=assessment_id,
            span_id=target_span,
            type=kind if kind in ASSESSMENT_TYPES else FEEDBACK,
            action=action if action in ASSESSMENT_ACTIONS else CREATE,
            rationale=_optional_text(get(wire.EVALUATION_EXPLANATION)),
            source_type=_optional_text(get(wire.ASSESSMENT_SOURCE_TYPE)),
            source_id=_optional_text(get(wire.ASSESSMENT_SOURCE_ID)),
            overrides=overrides,
            metadata=metadata if isinstance(metadata, dict) else None,
            error=_optional_text(get(wire.ASSESSMENT_ERROR)),
            created_time_unix_nano=clamped_time_ns(time_unix_nano) or time.time_ns(),
        )
    except ValueError:
        return None


def assessments_to_table(records: Sequence[AssessmentRecord]) -> pa.Table:
    """Return records as an Arrow table in ``ASSESSMENT_SCHEMA``."""
    columns: dict[str, list[Any]] = {name: [] for name in ASSESSMENT_SCHEMA.names}
    for record in records:
        value = record.value
        columns["assessment_id"].append(record.assessment_id)
        columns["trace_id"].append(record.trace_id)
        columns["span_id"].append(record.span_id)
        columns["name"].append(record.name)
        columns["type"].append(record.type)
        columns["action"].append(record.action)
        columns["value"].append(None if value is None else to_json(value))
        columns["score_value"].append(finite_float(value))
        columns["score_label"].append(score_label(value))
        columns["rationale"].append(record.rationale)
        columns["source_type"].append(record.source_type)
        columns["source_id"].append(record.source_id)
        columns["overrides"].append(record.overrides)
        columns["metadata"].append(None if record.metadata is None else to_json(record.metadata))
        columns["error"].append(record.error)
        # Records written before times were clamped at the edge may still hold any int.
        created = clamped_time_ns(record.created_time_unix_nano)
        columns["created_time"].append(created // 1000)
        columns["created_time_unix_nano"].append(created)
    return pa.Table.from_pydict(columns, schema=ASSESSMENT_SCHEMA)


def _derived_id(
    trace_id: str, span_id: str | None, name: str, time_unix_nano: int, value: Any
) -> str:
    """A stable id for events that carry none, so a resent event is still stored once."""
    digest = hashlib.sha256(
        to_json([trace_id, span_id, name, time_unix_nano, value]).encode("utf-8")
    )
    return digest.hexdigest()[:32]


def _optional_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)
