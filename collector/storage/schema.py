"""The Arrow schemas of the two Parquet datasets: one row per span, one row per assessment event.

Every column uses a plain Arrow type that DuckDB, pyarrow, Polars and Spark read without help:
strings, 64-bit integers, doubles and UTC timestamps. Open-ended data (attributes, resource
attributes, events, links, assessment values and metadata) is a JSON text column, so the
original types (string, integer, double, boolean, array, map) survive the trip and any engine's
JSON functions can reach into it. docs/storage.md explains each column.
"""

from __future__ import annotations

import pyarrow as pa

UTC_MICROS = pa.timestamp("us", tz="UTC")

# Characters of input/output kept in the preview columns: listings read these instead of the
# full texts, which are most of a span's bytes.
PREVIEW_CHARS = 200

SPAN_SCHEMA = pa.schema(
    [
        pa.field("trace_id", pa.string(), nullable=False),
        pa.field("span_id", pa.string(), nullable=False),
        pa.field("parent_span_id", pa.string()),
        pa.field("name", pa.string()),
        pa.field("span_type", pa.string()),
        pa.field("span_kind", pa.string()),
        pa.field("service_name", pa.string()),
        pa.field("experiment", pa.string()),
        pa.field("start_time", UTC_MICROS),
        pa.field("end_time", UTC_MICROS),
        pa.field("start_time_unix_nano", pa.int64()),
        pa.field("end_time_unix_nano", pa.int64()),
        pa.field("duration_ms", pa.float64()),
        pa.field("status_code", pa.string()),
        pa.field("status_message", pa.string()),
        pa.field("input", pa.string()),
        pa.field("output", pa.string()),
        pa.field("input_preview", pa.string()),
        pa.field("output_preview", pa.string()),
        pa.field("model", pa.string()),
        pa.field("input_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("total_tokens", pa.int64()),
        pa.field("session_id", pa.string()),
        pa.field("user_id", pa.string()),
        pa.field("attributes", pa.string()),
        pa.field("resource_attributes", pa.string()),
        pa.field("scope_name", pa.string()),
        pa.field("scope_version", pa.string()),
        pa.field("events", pa.string()),
        pa.field("links", pa.string()),
        pa.field("trace_state", pa.string()),
    ]
)

ASSESSMENT_SCHEMA = pa.schema(
    [
        pa.field("assessment_id", pa.string(), nullable=False),
        pa.field("trace_id", pa.string(), nullable=False),
        pa.field("span_id", pa.string()),
        pa.field("name", pa.string()),
        pa.field("type", pa.string()),
        pa.field("action", pa.string()),
        pa.field("value", pa.string()),
        pa.field("score_value", pa.float64()),
        pa.field("score_label", pa.string()),
        pa.field("rationale", pa.string()),
        pa.field("source_type", pa.string()),
        pa.field("source_id", pa.string()),
        pa.field("overrides", pa.string()),
        pa.field("metadata", pa.string()),
        pa.field("error", pa.string()),
        pa.field("created_time", UTC_MICROS),
        pa.field("created_time_unix_nano", pa.int64()),
    ]
)
