"""A reviewer's verdict on one chat answer, stored like every other HUMAN assessment.

"Good answer" / "Bad answer" is feedback named :data:`FEEDBACK_NAME` (true / false) on the turn's
trace, with the reviewer as ``source_id`` and the comment as ``rationale``; "What should it have
said?" is an ``expected_response`` expectation. Saving again overrides the reviewer's earlier
rows on that trace, so the history keeps both. Rows go through the REST API's store access (the
trace must exist; writes are durable before the answer).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from otel_feedback_collector.api.assessment_json import current_assessments
from otel_feedback_collector.api.errors import ApiError
from otel_feedback_collector.api.store_access import ApiStore
from otel_feedback_collector.storage import AssessmentRecord
from otel_feedback.label_schemas import EXPECTED_RESPONSE

FEEDBACK_NAME = "vibe_check"
MAX_TEXT_LENGTH = 10_000
AGENT_KEY = "review_app_agent"
CHAT_SESSION_KEY = "review_app_chat_session"


@dataclasses.dataclass(frozen=True)
class ChatVerdict:
    """What the reviewer said about one answer."""

    trace_id: str
    good: bool
    comment: str | None = None
    expected_response: str | None = None

    def __post_init__(self) -> None:
        for what, text in (("The comment", self.comment), ("What it should have said", self.expected_response)):
            if text is not None and len(text) > MAX_TEXT_LENGTH:
                raise ApiError(422, f"{what} is longer than {MAX_TEXT_LENGTH} characters; shorten it.")


def save_verdict(api: ApiStore, verdict: ChatVerdict, *, reviewer: str, agent: str,
                 chat_session: str) -> list[AssessmentRecord]:
    """Store the verdict (and the expected response when given); return the rows written."""
    metadata = {AGENT_KEY: agent, CHAT_SESSION_KEY: chat_session}
    wanted = [AssessmentRecord(trace_id=verdict.trace_id, name=FEEDBACK_NAME, value=verdict.good, type="feedback",
                               rationale=verdict.comment or None, source_type="HUMAN", source_id=reviewer,
                               metadata=metadata)]
    if verdict.expected_response:
        wanted.append(AssessmentRecord(trace_id=verdict.trace_id, name=EXPECTED_RESPONSE,
                                       value=verdict.expected_response, type="expectation", source_type="HUMAN",
                                       source_id=reviewer, metadata=metadata))
    api.require_trace(verdict.trace_id)
    mine = {row.name: row for row in current_assessments(api.trace_log(verdict.trace_id))
            if row.source_type == "HUMAN" and row.source_id == reviewer}
    written = []
    for record in wanted:
        size = _size(record)
        earlier = mine.get(record.name)
        if earlier is None:
            written.append(api.create(record, idempotent=False, size_bytes=size)[0])
        else:
            written.append(api.replace(verdict.trace_id, earlier.assessment_id,
                                       lambda old, new=record: dataclasses.replace(
                                           new, action="override", overrides=old.assessment_id),
                                       size_bytes=size))
    return written


def _size(record: AssessmentRecord) -> int:
    texts: list[Any] = [record.rationale, record.value if isinstance(record.value, str) else None]
    return 512 + sum(len(text.encode("utf-8")) for text in texts if text)
