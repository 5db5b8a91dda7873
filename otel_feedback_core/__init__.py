"""What the SDK (``otel_feedback``) and the collector (``otel_feedback_collector``) must agree on.

Each rule is defined once here and imported by both sides: the names on the wire
(:mod:`~otel_feedback_core.wire`), the assessment model with its id rules and validators
(:mod:`~otel_feedback_core.assessments`), the data directory and its layout
(:mod:`~otel_feedback_core.layout`), the labeling item states
(:mod:`~otel_feedback_core.labeling`), JSON kept as text (:mod:`~otel_feedback_core.json_text`),
writing a file so no reader sees it half-written (:mod:`~otel_feedback_core.files`) and reading
``Retry-After`` (:mod:`~otel_feedback_core.retry_after`).

This package depends on the Python standard library only, and imports nothing from either side.
"""
