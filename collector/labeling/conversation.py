"""What a reviewer sees of one trace: the question, the answer, the retrieved context and the
feedback already given (end users, developers, other sessions' reviewers excluded)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from otel_feedback_collector.api.assessment_json import current_assessments
from otel_feedback_collector.api.store_access import ApiStore
from otel_feedback_collector.labeling.submission import SESSION_ID_KEY
from otel_feedback_core.json_text import decode_json_text


@dataclass(frozen=True)
class Conversation:
    """The parts of a trace the review page shows, all as plain text."""

    trace_id: str
    question: str
    answer: str
    retrieved: list[str] = field(default_factory=list)
    feedback: list[dict[str, str]] = field(default_factory=list)


def as_text(value: Any) -> str:
    """A span input/output as readable text: strings as they are, a one-field object as its
    field, chat messages as their last user content, anything else as indented JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        messages = value.get("messages")
        if isinstance(messages, list) and messages:
            users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
            last = (users or messages)[-1]
            if isinstance(last, dict) and isinstance(last.get("content"), str):
                return last["content"]
        if len(value) == 1:
            (only,) = value.values()
            if isinstance(only, str):
                return only
    return json.dumps(value, ensure_ascii=False, indent=2)


def load_conversation(api: ApiStore, trace_id: str) -> Conversation:
    """The conversation of ``trace_id`` (404 ``ApiError`` when no span of it has arrived)."""
    summary, spans, log = api.trace_detail(trace_id)
    retrieved = [as_text(decode_json_text(span.get("output"))) for span in spans if span.get("span_type") == "RETRIEVER"]
    feedback = [
        {
            "name": record.name,
            "value": as_text(record.value) if not isinstance(record.value, bool) else str(record.value).lower(),
            "rationale": record.rationale or "",
            "source": f"{record.source_type or ''} {record.source_id or ''}".strip(),
        }
        for record in current_assessments(log)
        if not (record.metadata or {}).get(SESSION_ID_KEY)
    ]
    return Conversation(
        trace_id=trace_id,
        question=as_text(summary.get("request")),
        answer=as_text(summary.get("response")),
        retrieved=[text for text in retrieved if text],
        feedback=feedback,
    )

