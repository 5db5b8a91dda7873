"""Find assessments in an OTLP ``ExportLogsServiceRequest``.

A log record is an assessment when its event name (the ``event_name`` field, the older
``event.name`` attribute, or a string body) is ``gen_ai.evaluation.result``; it carries the
trace and span ids of its target. Every other log record is counted and dropped.
"""

from __future__ import annotations

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from otel_feedback_collector.storage.assessments import (
    EVALUATION_EVENT_NAME,
    AssessmentRecord,
    assessment_from_attributes,
)
from otel_feedback_collector.storage.otlp_values import any_value_to_python, hex_id, key_values_to_dict


def logs_request_to_assessments(
    request: ExportLogsServiceRequest,
) -> tuple[list[AssessmentRecord], int]:
    """Return the assessments in the request and the number of log records seen in total."""
    records: list[AssessmentRecord] = []
    seen = 0
    for resource_logs in request.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            for log_record in scope_logs.log_records:
                seen += 1
                attributes = key_values_to_dict(log_record.attributes)
                body = any_value_to_python(log_record.body)
                event_name = (
                    getattr(log_record, "event_name", "")
                    or attributes.get("event.name")
                    or (body if isinstance(body, str) else None)
                )
                if event_name != EVALUATION_EVENT_NAME:
                    continue
                if isinstance(body, dict):
                    attributes = {**body, **attributes}
                trace_id = hex_id(log_record.trace_id)
                if trace_id is None:
                    continue
                record = assessment_from_attributes(
                    attributes,
                    trace_id=trace_id,
                    span_id=hex_id(log_record.span_id),
                    time_unix_nano=log_record.time_unix_nano
                    or log_record.observed_time_unix_nano,
                )
                if record is not None:
                    records.append(record)
    return records, seen
