"""Assessment records: feedback and expectations attached to a trace (and optionally a span).

They arrive three ways, all landing in one append-only log (see DESIGN.md, "Conventions on the
wire"): as a ``gen_ai.evaluation.result`` span event, as an OTLP log record with that event
name, and through the REST API. Create, override and delete are all rows; nothing is updated in
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

from otel_feedback_collector.storage.json_text import parse_json_text
from otel_feedback_collector.storage.otlp_values import to_json
from otel_feedback_collector.storage.schema import ASSESSMENT_SCHEMA
from otel_feedback_collector.storage.value_bounds import clamped_time_ns, finite_float

EVALUATION_EVENT_NAME = "gen_ai.evaluation.result"
ASSESSMENT_TYPES = ("feedback", "expectation")
ASSESSMENT_ACTIONS = ("create", "override", "delete")

_PREFIX = "otel_feedback.assessment."


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
    type: str = "feedback"
    action: str = "create"
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
        if self.action != "create" and not self.overrides:
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
    name = get("gen_ai.evaluation.name")
    if not name or not trace_id:
        return None
    score_value = get("gen_ai.evaluation.score.value")
    score_label = get("gen_ai.evaluation.score.label")
    raw_value = get(_PREFIX + "value")
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
    overrides = _optional_text(get(_PREFIX + "overrides"))
    action = _optional_text(get(_PREFIX + "action")) or ("override" if overrides else "create")
    target_span = _optional_text(get(_PREFIX + "target.span_id")) or span_id
    assessment_id = _optional_text(get(_PREFIX + "id")) or _derived_id(
        trace_id, target_span, str(name), time_unix_nano, value
    )
    metadata = get(_PREFIX + "metadata")
    if isinstance(metadata, str):
        try:
            metadata = parse_json_text(metadata)
        except ValueError:
            metadata = {"value": metadata}
    kind = (_optional_text(get(_PREFIX + "type")) or "feedback").lower()
    try:
        return AssessmentRecord(
            trace_id=trace_id,
            name=str(name),
            value=value,
            assessment_id=assessment_id,
            span_id=target_span,
            type=kind if kind in ASSESSMENT_TYPES else "feedback",
            action=action if action in ASSESSMENT_ACTIONS else "create",
            rationale=_optional_text(get("gen_ai.evaluation.explanation")),
            source_type=_optional_text(get(_PREFIX + "source.type")),
            source_id=_optional_text(get(_PREFIX + "source.id")),
            overrides=overrides,
            metadata=metadata if isinstance(metadata, dict) else None,
            error=_optional_text(get(_PREFIX + "error")),
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
        columns["score_label"].append(
            ("true" if value else "false")
            if isinstance(value, bool)
            else (value if isinstance(value, str) else None)
        )
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
