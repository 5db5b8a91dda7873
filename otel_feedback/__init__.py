"""otel-feedback: trace GenAI apps with OpenTelemetry and collect human feedback on them.

Importing this package has no side effects: no threads, no sockets, no TracerProvider.
Call ``configure()`` to send spans to a collector (or let the app's own TracerProvider carry
them), then decorate functions with ``@trace``.
"""

from __future__ import annotations

from otel_feedback._version import __version__

from otel_feedback_core.assessments import (
    Assessment,
    AssessmentSource,
    AssessmentSourceType,
    Expectation,
    Feedback,
)
from otel_feedback._client import (
    CollectorBusy,
    CollectorError,
    CollectorUnavailable,
    InvalidRequest,
    NotFound,
    Unauthorized,
)
from otel_feedback._config import Configuration, configure, flush, get_tracer
from otel_feedback._feedback import (
    FeedbackNotDelivered,
    delete_assessment,
    get_assessments,
    log_expectation,
    log_feedback,
    override_feedback,
)
from otel_feedback._search import search_traces
from otel_feedback._span_types import SpanType
from otel_feedback._tracing import (
    LiveSpan,
    get_current_span_id,
    get_current_trace_id,
    get_last_active_trace_id,
    start_span,
    trace,
    update_current_trace,
)

# Evaluation pulls in pyarrow; it loads on first use so `import otel_feedback` stays light.
_LAZY_EVALUATION = frozenset({"EvaluationDataset", "EvaluationResult", "create_dataset", "evaluate", "get_dataset"})


def __getattr__(name: str) -> object:
    if name in _LAZY_EVALUATION:
        from otel_feedback import evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module 'otel_feedback' has no attribute {name!r}")


__all__ = [
    "Assessment",
    "AssessmentSource",
    "AssessmentSourceType",
    "CollectorBusy",
    "CollectorError",
    "CollectorUnavailable",
    "Configuration",
    "EvaluationDataset",
    "EvaluationResult",
    "Expectation",
    "Feedback",
    "FeedbackNotDelivered",
    "InvalidRequest",
    "LiveSpan",
    "NotFound",
    "SpanType",
    "Unauthorized",
    "__version__",
    "configure",
    "create_dataset",
    "delete_assessment",
    "evaluate",
    "flush",
    "get_assessments",
    "get_current_span_id",
    "get_current_trace_id",
    "get_dataset",
    "get_last_active_trace_id",
    "get_tracer",
    "log_expectation",
    "log_feedback",
    "override_feedback",
    "search_traces",
    "start_span",
    "trace",
    "update_current_trace",
]
