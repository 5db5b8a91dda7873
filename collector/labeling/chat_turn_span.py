"""One chat turn of the review app as a span: the root of that turn's trace.

The review app starts each turn's trace itself: it makes the trace id and this span's id, sends
them to the agent as a W3C ``traceparent``, and when the turn ends writes this span into the store
the way an OTLP export would arrive. So every turn is a trace even when the agent exports nothing
(a vLLM server, a hosted API), and an agent that does trace (``otel-feedback chat-app``) puts its
spans under this one. The span carries the conversation so far as its input, the answer as its
output, the chat's session id and the reviewer as its user, and ERROR when the turn failed.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from otel_feedback_core.wire import (
    CONVERSATION_ID,
    INPUT_MIME_TYPE,
    INPUT_VALUE,
    METADATA,
    MIME_JSON,
    MIME_TEXT,
    OUTPUT_MIME_TYPE,
    OUTPUT_VALUE,
    SESSION_ID,
    SPAN_KIND,
    SPAN_TYPE,
    USER_ID,
)

SERVICE_NAME = "otel-feedback review app"
SCOPE_NAME = "otel_feedback.review_app.chat"


@dataclass
class ChatTurn:
    """A turn in flight: its ids (made here), who asked which agent, and what came back."""

    agent: str
    session_id: str
    reviewer: str
    messages: Sequence[dict[str, str]]
    trace_id: str = field(default_factory=lambda: secrets.token_hex(16))
    span_id: str = field(default_factory=lambda: secrets.token_hex(8))
    start_unix_nano: int = field(default_factory=time.time_ns)
    answer: str = ""
    error: str | None = None

    @property
    def traceparent(self) -> str:
        """The W3C header that puts the agent's spans in this turn's trace, under this span."""
        return f"00-{self.trace_id}-{self.span_id}-01"

    def export_request(self, *, end_unix_nano: int | None = None) -> ExportTraceServiceRequest:
        """This turn's span as an OTLP export request."""
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.append(_attribute("service.name", SERVICE_NAME))
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = SCOPE_NAME
        span = scope_spans.spans.add()
        span.trace_id = bytes.fromhex(self.trace_id)
        span.span_id = bytes.fromhex(self.span_id)
        span.name = f"chat with {self.agent}"
        span.kind = Span.SPAN_KIND_CLIENT
        span.start_time_unix_nano = self.start_unix_nano
        span.end_time_unix_nano = max(end_unix_nano or time.time_ns(), self.start_unix_nano)
        attributes = {
            SPAN_TYPE: "AGENT",
            SPAN_KIND: "AGENT",
            INPUT_VALUE: json.dumps({"messages": list(self.messages)}, ensure_ascii=False),
            INPUT_MIME_TYPE: MIME_JSON,
            OUTPUT_VALUE: self.answer,
            OUTPUT_MIME_TYPE: MIME_TEXT,
            SESSION_ID: self.session_id,
            CONVERSATION_ID: self.session_id,
            USER_ID: self.reviewer,
            METADATA: json.dumps({"review_app.agent": self.agent}, ensure_ascii=False),
        }
        span.attributes.extend(_attribute(key, value) for key, value in attributes.items())
        if self.error is not None:
            span.status.code = Status.STATUS_CODE_ERROR
            span.status.message = self.error
        else:
            span.status.code = Status.STATUS_CODE_OK
        return request


def _attribute(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))
