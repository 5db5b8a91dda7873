"""Attribute names we emit, in one place (see DESIGN.md "Conventions on the wire")."""

from __future__ import annotations

# OpenInference
SPAN_KIND = "openinference.span.kind"
INPUT_VALUE = "input.value"
INPUT_MIME_TYPE = "input.mime_type"
OUTPUT_VALUE = "output.value"
OUTPUT_MIME_TYPE = "output.mime_type"
SESSION_ID = "session.id"
USER_ID = "user.id"
METADATA = "metadata"
TAG_TAGS = "tag.tags"

# Our own extensions
SPAN_TYPE = "otel_feedback.span_type"
EXPERIMENT = "otel_feedback.experiment"
TRACE_TAGS = "otel_feedback.trace.tags"
INPUT_TRUNCATED = "otel_feedback.input.truncated"
OUTPUT_TRUNCATED = "otel_feedback.output.truncated"
GENERATOR_CLOSED_EARLY = "otel_feedback.generator.closed_early"

MIME_JSON = "application/json"
MIME_TEXT = "text/plain"
