"""Turn an OTLP ``ExportTraceServiceRequest`` into span rows (an Arrow table) and assessments.

Two ways, one result. :func:`traces_payload_to_rows` takes the request's protobuf bytes (as the
write-ahead log keeps them) to the C extension ``_otlp_rows`` when it is built, which reads the
common shape of a request (no span events or links, the usual conventions' attributes) straight
into Arrow buffers, about ten times faster than Python; any other request, or an install without
the extension, goes through :func:`traces_request_to_rows`, where each span is visited once in
Python. The Python conversion is the reference: the extension must give exactly its table
(tests/collector/storage/test_native_rows.py). ``OTEL_FEEDBACK_NATIVE_INGEST=0`` turns the
extension off (to compare the two, or should it ever be suspected).
"""

from __future__ import annotations

import os
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

try:
    from otel_feedback_collector.storage._otlp_rows import spans as _native_spans
except ImportError:  # not built (an install without a C compiler): Python converts everything
    _native_spans = None

# The columns the extension fills, in the order it returns them; the others (times, previews)
# are derived from them.
NATIVE_COLUMNS = (
    "trace_id", "span_id", "parent_span_id", "name", "span_type", "span_kind", "service_name",
    "experiment", "start_time_unix_nano", "end_time_unix_nano", "duration_ms", "status_code",
    "status_message", "input", "output", "model", "input_tokens", "output_tokens",
    "total_tokens", "session_id", "user_id", "attributes", "resource_attributes", "scope_name",
    "scope_version", "trace_state", "events", "links",
)
_NATIVE_BY_DEFAULT = os.environ.get("OTEL_FEEDBACK_NATIVE_INGEST", "1") != "0"

_SPAN_KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
_STATUS_CODES = ("UNSET", "OK", "ERROR")


def native_rows_available() -> bool:
    """Whether the C conversion is built (and so used, unless turned off)."""
    return _native_spans is not None


def traces_payload_to_rows(
    payload: bytes, *, seen: set[tuple[str, str]] | None = None, native: bool | None = None
) -> tuple[pa.Table, list[AssessmentRecord]]:
    """Like :func:`traces_request_to_rows`, from the request's protobuf bytes: through the C
    extension when it takes the request, else parsed and converted in Python. ``native``
    forces the choice (``True`` raises if the extension is not built); by default the extension
    is used when built and not turned off by ``OTEL_FEEDBACK_NATIVE_INGEST=0``."""
    if native is None:
        native = _NATIVE_BY_DEFAULT and _native_spans is not None
    if native:
        if _native_spans is None:
            raise RuntimeError(
                "The C extension otel_feedback_collector.storage._otlp_rows is not built; "
                "reinstall with a C compiler present (pip install -e .) or pass native=False."
            )
        if seen is None:
            seen = set()
        result = _native_spans(payload, seen)
        if result is not None:
            return _native_table(*result), []
    return traces_request_to_rows(ExportTraceServiceRequest.FromString(payload), seen=seen)


def _native_table(rows: int, columns: tuple[tuple[Any, ...], ...]) -> pa.Table:
    """The extension's buffers as a table in ``SPAN_SCHEMA``."""
    if not rows:
        return SPAN_SCHEMA.empty_table()
    arrays: dict[str, pa.Array] = {}
    for name, (validity, values, data, nulls) in zip(NATIVE_COLUMNS, columns):
        buffers = [None if validity is None else pa.py_buffer(validity), pa.py_buffer(values)]
        if data is not None:
            buffers.append(pa.py_buffer(data))
        arrays[name] = pa.Array.from_buffers(
            SPAN_SCHEMA.field(name).type, rows, buffers, null_count=nulls
        )
    arrays.update(
        _derived_columns(
            arrays["start_time_unix_nano"], arrays["end_time_unix_nano"], arrays["input"], arrays["output"]
        )
    )
    return pa.Table.from_arrays([arrays[name] for name in SPAN_SCHEMA.names], schema=SPAN_SCHEMA)


def _derived_columns(
    start_nanos: pa.Array, end_nanos: pa.Array, input_texts: pa.Array, output_texts: pa.Array
) -> dict[str, pa.Array]:
    """The microsecond times from the nanosecond columns and the previews of the texts, whole
    columns at once (vectorised; the times are never negative, so truncating division is the
    floor division it replaces)."""
    return {
        "start_time": pc.divide(start_nanos, 1000).cast(UTC_MICROS),
        "end_time": pc.divide(end_nanos, 1000).cast(UTC_MICROS),
        "input_preview": pc.utf8_slice_codeunits(input_texts, 0, PREVIEW_CHARS),
        "output_preview": pc.utf8_slice_codeunits(output_texts, 0, PREVIEW_CHARS),
    }


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
    # One tuple per span, turned into columns at the end (``zip``, in C): cheaper than
    # appending to 32 column lists per span. The fields of a span's resource and scope are
    # repeated per span only then, by list multiplication.
    rows: list[tuple[Any, ...]] = []
    shared: list[tuple[int, str | None, str, str | None, str | None]] = []
    assessments: list[AssessmentRecord] = []
    for resource_spans in request.resource_spans:
        resource = key_values_to_dict(resource_spans.resource.attributes)
        resource_json = to_json(resource)
        service = resource.get("service.name")
        service_name = None if service is None else str(service)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            scope_rows = len(rows)
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
                    attributes_json = to_json(attributes).encode("utf-8")  # with the original times
                    duration = None  # a clamped time says nothing about how long it took
                else:
                    duration = (end_ns - start_ns) / 1e6 if end_ns >= start_ns else None
                kind = span.kind
                status = span.status
                code = status.code
                rows.append(
                    (
                        trace_id,
                        span_id,
                        hex_id(span.parent_span_id),
                        span.name,
                        _SPAN_KINDS[kind] if kind < 6 else str(kind),
                        start_ns,
                        end_ns,
                        duration,
                        _STATUS_CODES[code] if code < 3 else str(code),
                        status.message or None,
                        attributes_json,
                        span.trace_state or None,
                        _events_json(span, trace_id, end_ns, assessments) if span.events else None,
                        _links_json(span) if span.links else None,
                        fields,
                    )
                )
            shared.append(
                (len(rows) - scope_rows, service_name, resource_json, scope.name or None, scope.version or None)
            )
    return _table(rows, shared), assessments


def _table(
    rows: list[tuple[Any, ...]],
    shared: list[tuple[int, str | None, str, str | None, str | None]],
) -> pa.Table:
    """The span rows as a table in ``SPAN_SCHEMA``; ``shared`` holds, per scope in order, how
    many rows it has and the values they share."""
    if not rows:
        return SPAN_SCHEMA.empty_table()
    (
        trace_ids, span_ids, parents, names, kinds, start_ns, end_ns, durations, status_codes,
        status_messages, attributes, trace_states, events, links, normalized,
    ) = zip(*rows)
    (
        span_types, inputs, outputs, models, input_tokens, output_tokens, total_tokens,
        session_ids, user_ids, experiments,
    ) = zip(*normalized)
    service_names: list[str | None] = []
    resources: list[str] = []
    scope_names: list[str | None] = []
    scope_versions: list[str | None] = []
    for count, service_name, resource_json, scope_name, scope_version in shared:
        service_names += [service_name] * count
        resources += [resource_json] * count
        scope_names += [scope_name] * count
        scope_versions += [scope_version] * count
    # Previews are cut from the same Arrow arrays the table is built of (each text is
    # converted once).
    start_nanos = pa.array(start_ns, type=pa.int64())
    end_nanos = pa.array(end_ns, type=pa.int64())
    input_texts = pa.array(inputs, type=pa.string())
    output_texts = pa.array(outputs, type=pa.string())
    columns: dict[str, Any] = {
        "trace_id": trace_ids,
        "span_id": span_ids,
        "parent_span_id": parents,
        "name": names,
        "span_type": span_types,
        "span_kind": kinds,
        "service_name": service_names,
        "experiment": experiments,
        "start_time_unix_nano": start_nanos,
        "end_time_unix_nano": end_nanos,
        "duration_ms": durations,
        "status_code": status_codes,
        "status_message": status_messages,
        "input": input_texts,
        "output": output_texts,
        "model": models,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": total_tokens,
        "session_id": session_ids,
        "user_id": user_ids,
        # UTF-8 JSON as the encoder wrote it: made a string column in one checked cast, not
        # decoded into a Python str per span.
        "attributes": pa.array(attributes, type=pa.binary()).cast(pa.string()),
        "resource_attributes": resources,
        "scope_name": scope_names,
        "scope_version": scope_versions,
        "trace_state": trace_states,
        "events": events,
        "links": links,
        **_derived_columns(start_nanos, end_nanos, input_texts, output_texts),
    }
    return pa.Table.from_pydict(
        {name: columns[name] for name in SPAN_SCHEMA.names}, schema=SPAN_SCHEMA
    )


def _events_json(
    span: Any, trace_id: str, end_ns: int, assessments: list[AssessmentRecord]
) -> str:
    """A span's events as JSON; the assessments among them are added to ``assessments``."""
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
    return to_json(events)


def _links_json(span: Any) -> str:
    return to_json(
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


def _span_time(value: int, field: str, attributes: dict[str, Any]) -> int:
    """The span time clamped into the int64 range; a clamped original is kept in the
    attributes (as text) so nothing the sender said is lost."""
    clamped = clamped_time_ns(value)
    if clamped != value:
        attributes[ORIGINAL_VALUE_PREFIX + field] = str(value)
    return clamped

