"""Turn an OTLP ``ExportTraceServiceRequest`` into span rows (an Arrow table) and assessments.

Each span is visited once in Python; everything after that (WAL framing, sorting, Parquet
encoding) works on whole Arrow columns.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from otel_feedback_collector.storage.assessments import (
    EVALUATION_EVENT_NAME,
    AssessmentRecord,
    assessment_from_attributes,
)
from otel_feedback_collector.storage.normalize import normalize_span
from otel_feedback_collector.storage.otlp_values import attributes_and_json, hex_id, key_values_to_dict, to_json
from otel_feedback_collector.storage.schema import PREVIEW_CHARS, SPAN_SCHEMA, UTC_MICROS
from otel_feedback_collector.storage.value_bounds import INT64_MAX, ORIGINAL_VALUE_PREFIX, clamped_time_ns

_SPAN_KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
_STATUS_CODES = ("UNSET", "OK", "ERROR")


def traces_request_to_rows(
    request: ExportTraceServiceRequest, *, seen: set[tuple[str, str]] | None = None
) -> tuple[pa.Table, list[AssessmentRecord]]:
    """Return the request's spans as a table in ``SPAN_SCHEMA`` and the assessments found in
    their ``gen_ai.evaluation.result`` events. Spans without a valid trace or span id are
    skipped (the receiver rejects them before they get here), and so are spans whose
    ``(trace_id, span_id)`` is already in ``seen``. ``seen`` gets the new keys only when the
    conversion succeeds, so a request that fails can be set aside without hiding its spans'
    keys from the rest of the flush."""
    added: set[tuple[str, str]] = set()
    try:
        return _rows(request, seen if seen is not None else set(), added)
    except BaseException:
        if seen is not None:
            seen -= added
        raise


def _rows(
    request: ExportTraceServiceRequest,
    seen: set[tuple[str, str]],
    added: set[tuple[str, str]],
) -> tuple[pa.Table, list[AssessmentRecord]]:
    columns: dict[str, Any] = {name: [] for name in SPAN_SCHEMA.names}
    (
        c_trace_id, c_span_id, c_parent, c_name, c_type, c_kind, c_service, c_experiment,
        _start, _end, c_start_ns, c_end_ns, c_duration, c_status, c_status_message,
        c_input, c_output, _input_preview, _output_preview, c_model, c_in_tokens,
        c_out_tokens, c_total_tokens, c_session, c_user, c_attributes, c_resource,
        c_scope_name, c_scope_version, c_events, c_links, c_trace_state,
    ) = (columns[name].append for name in SPAN_SCHEMA.names)  # bound: one lookup per column, not per span
    assessments: list[AssessmentRecord] = []
    for resource_spans in request.resource_spans:
        resource = key_values_to_dict(resource_spans.resource.attributes)
        resource_json = to_json(resource)
        service = resource.get("service.name")
        service_name = None if service is None else str(service)
        for scope_spans in resource_spans.scope_spans:
            scope_name = scope_spans.scope.name or None
            scope_version = scope_spans.scope.version or None
            for span in scope_spans.spans:
                trace_id = hex_id(span.trace_id)
                span_id = hex_id(span.span_id)
                if trace_id is None or span_id is None:
                    continue
                key = (trace_id, span_id)
                if key in seen:
                    continue
                seen.add(key)
                added.add(key)
                attributes, attributes_json = attributes_and_json(span.attributes)
                fields = normalize_span(attributes, resource)
                start_ns = span.start_time_unix_nano
                end_ns = span.end_time_unix_nano
                if start_ns > INT64_MAX or end_ns > INT64_MAX:  # rare: checked inline, it is hot
                    start_ns = _span_time(start_ns, "start_time_unix_nano", attributes)
                    end_ns = _span_time(end_ns, "end_time_unix_nano", attributes)
                    attributes_json = to_json(attributes)  # with the original times
                    duration = None  # a clamped time says nothing about how long it took
                else:
                    duration = (end_ns - start_ns) / 1e6 if end_ns >= start_ns else None
                c_trace_id(trace_id)
                c_span_id(span_id)
                c_parent(hex_id(span.parent_span_id))
                c_name(span.name)
                c_type(fields.span_type)
                c_kind(_SPAN_KINDS[span.kind] if span.kind < 6 else str(span.kind))
                c_service(service_name)
                c_experiment(fields.experiment)
                c_start_ns(start_ns)
                c_end_ns(end_ns)
                c_duration(duration)
                code = span.status.code
                c_status(_STATUS_CODES[code] if code < 3 else str(code))
                c_status_message(span.status.message or None)
                c_input(fields.input)
                c_output(fields.output)
                c_model(fields.model)
                c_in_tokens(fields.input_tokens)
                c_out_tokens(fields.output_tokens)
                c_total_tokens(fields.total_tokens)
                c_session(fields.session_id)
                c_user(fields.user_id)
                c_attributes(attributes_json)
                c_resource(resource_json)
                c_scope_name(scope_name)
                c_scope_version(scope_version)
                c_trace_state(span.trace_state or None)
                if span.events:
                    events = []
                    for event in span.events:
                        event_attributes = key_values_to_dict(event.attributes)
                        events.append(
                            {
                                "name": event.name,
                                "time_unix_nano": event.time_unix_nano,
                                "attributes": event_attributes,
                            }
                        )
                        if event.name == EVALUATION_EVENT_NAME:
                            record = assessment_from_attributes(
                                event_attributes,
                                trace_id=trace_id,
                                span_id=None,
                                time_unix_nano=clamped_time_ns(event.time_unix_nano) or end_ns,
                            )
                            if record is not None:
                                assessments.append(record)
                    c_events(to_json(events))
                else:
                    c_events(None)
                if span.links:
                    c_links(
                        to_json(
                            [
                                {
                                    "trace_id": hex_id(link.trace_id),
                                    "span_id": hex_id(link.span_id),
                                    "trace_state": link.trace_state or None,
                                    "attributes": key_values_to_dict(link.attributes),
                                }
                                for link in span.links
                            ]
                        )
                    )
                else:
                    c_links(None)
    # The microsecond times from the nanosecond columns, whole columns at once (the times are
    # never negative, so truncating division is the floor division it replaces).
    for name, micros in (("start_time_unix_nano", "start_time"), ("end_time_unix_nano", "end_time")):
        nanos = pa.array(columns[name], type=pa.int64())
        columns[name] = nanos
        columns[micros] = pc.divide(nanos, 1000).cast(UTC_MICROS)
    # Previews are cut from whole columns at once (vectorised), not per span, from the same
    # Arrow arrays the table is built of (each text is converted once).
    for name, preview in (("input", "input_preview"), ("output", "output_preview")):
        texts = pa.array(columns[name], type=pa.string())
        columns[name] = texts
        columns[preview] = pc.utf8_slice_codeunits(texts, 0, PREVIEW_CHARS)
    return pa.Table.from_pydict(columns, schema=SPAN_SCHEMA), assessments


def _span_time(value: int, field: str, attributes: dict[str, Any]) -> int:
    """The span time clamped into the int64 range; a clamped original is kept in the
    attributes (as text) so nothing the sender said is lost."""
    clamped = clamped_time_ns(value)
    if clamped != value:
        attributes[ORIGINAL_VALUE_PREFIX + field] = str(value)
    return clamped

