"""Names on the wire, in one place (DESIGN.md "Conventions on the wire"): span attributes and
the assessment event with its attributes, as the SDK emits them and the collector reads them."""

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
PROJECT_NAME = "openinference.project.name"  # the experiment, where Phoenix files the trace
# RETRIEVER spans: retrieval.documents.N.document.id / .content / .score / .metadata (JSON text)
RETRIEVAL_DOCUMENTS = "retrieval.documents"

# OTel GenAI semantic conventions (beyond the OpenAI instrumentation's own names)
CONVERSATION_ID = "gen_ai.conversation.id"  # the session
GEN_AI_RETRIEVAL_DOCUMENTS = "gen_ai.retrieval.documents"  # JSON text: [{"id", "score", "content", "metadata"}]

# Our own extensions
SPAN_TYPE = "otel_feedback.span_type"
EXPERIMENT = "otel_feedback.experiment"
TRACE_TAGS = "otel_feedback.trace.tags"
INPUT_TRUNCATED = "otel_feedback.input.truncated"
OUTPUT_TRUNCATED = "otel_feedback.output.truncated"
GENERATOR_CLOSED_EARLY = "otel_feedback.generator.closed_early"

MIME_JSON = "application/json"
MIME_TEXT = "text/plain"

# Assessments travel as events with this name (DESIGN.md "Conventions on the wire"): the OTel
# GenAI evaluation attributes, plus our extensions under ASSESSMENT_PREFIX.
EVALUATION_EVENT = "gen_ai.evaluation.result"
EVALUATION_NAME = "gen_ai.evaluation.name"
EVALUATION_SCORE_VALUE = "gen_ai.evaluation.score.value"
EVALUATION_SCORE_LABEL = "gen_ai.evaluation.score.label"
EVALUATION_EXPLANATION = "gen_ai.evaluation.explanation"

ASSESSMENT_PREFIX = "otel_feedback.assessment."
ASSESSMENT_ID = ASSESSMENT_PREFIX + "id"
ASSESSMENT_TYPE = ASSESSMENT_PREFIX + "type"
ASSESSMENT_ACTION = ASSESSMENT_PREFIX + "action"
ASSESSMENT_VALUE = ASSESSMENT_PREFIX + "value"
ASSESSMENT_SOURCE_TYPE = ASSESSMENT_PREFIX + "source.type"
ASSESSMENT_SOURCE_ID = ASSESSMENT_PREFIX + "source.id"
ASSESSMENT_TARGET_SPAN_ID = ASSESSMENT_PREFIX + "target.span_id"
ASSESSMENT_OVERRIDES = ASSESSMENT_PREFIX + "overrides"
ASSESSMENT_METADATA = ASSESSMENT_PREFIX + "metadata"
ASSESSMENT_ERROR = ASSESSMENT_PREFIX + "error"
