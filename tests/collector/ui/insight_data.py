"""Traces for the sessions, charts and cost tests: chat turns at known times, in sessions, with
known token counts on a gpt-4o-mini call, sent through the real OTLP/HTTP exporter, and
feedback through the REST API."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
from opentelemetry import trace as trace_api
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_feedback_collector.server import CollectorServer

EXPERIMENT = "support-bot"
# 2025-11-20 09:00:00 UTC: the first turn; the others follow at the hours below.
BASE_NS = 1_763_629_200_000_000_000
HOUR_NS = 3_600_000_000_000
INPUT_TOKENS = 1200
OUTPUT_TOKENS = 300
# gpt-4o-mini: 0.15 $/M input, 0.60 $/M output -> 1200 * 0.15e-6 + 300 * 0.60e-6 = $0.00036
TURN_COST = 0.00036
OWN_COST = 0.5  # the LLM span of the last turn (an unpriced model) carries gen_ai.usage.cost


@dataclass(frozen=True)
class Turn:
    """One chat turn as sent."""

    session: str | None
    hour: int
    question: str
    answer: str
    duration_ms: int
    feedback: bool | None
    own_cost: float | None = None
    model: str = "gpt-4o-mini"
    trace_id: str = field(default="", compare=False)


TURNS = (
    Turn("sess-alpha", 0, "How do I reset my password?", "Open Settings, then Security, then Reset.", 100, True),
    Turn("sess-alpha", 0, "And if I lost my phone?", "Use a recovery code from your account page.", 300, False),
    Turn("sess-beta", 2, "Can I export my data?", "Yes: Settings, Privacy, Export.", 200, True),
    Turn("sess-alpha", 2, "Thanks, and how do I log out everywhere?", "Security, then Sign out of all devices.", 400, None),
    # A model the price table does not know, whose span carries its own cost.
    Turn(None, 2, "What are your opening hours?", "We answer around the clock.", 500, True, OWN_COST, "house-model"),
)


def send_turns(
    server: CollectorServer, turns: Sequence[Turn] = TURNS, *, experiment: str = EXPERIMENT
) -> list[Turn]:
    """Export every turn (a CHAIN root with the question as its argument, an LLM child whose
    input is a chat), add its feedback, flush; return the turns with their trace ids."""
    provider = TracerProvider(resource=Resource.create({"service.name": experiment}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{server.http_url}/v1/traces")))
    tracer = provider.get_tracer("insight-tests")
    sent: list[Turn] = []
    for index, turn in enumerate(turns):
        start = BASE_NS + turn.hour * HOUR_NS + index * 1_000_000_000
        end = start + turn.duration_ms * 1_000_000
        root_attributes = {
            "openinference.span.kind": "CHAIN",
            "input.value": json.dumps({"question": turn.question}),
            "input.mime_type": "application/json",
            "output.value": turn.answer,
        }
        if turn.session:
            root_attributes["session.id"] = turn.session  # what update_current_trace(session=...) sets
        root = tracer.start_span("support_chat", attributes=root_attributes, start_time=start)
        child_attributes: dict[str, object] = {
            "openinference.span.kind": "LLM",
            "gen_ai.request.model": turn.model,
            "gen_ai.usage.input_tokens": INPUT_TOKENS,
            "gen_ai.usage.output_tokens": OUTPUT_TOKENS,
            "input.value": json.dumps({"messages": [
                {"role": "system", "content": "You are a support bot."},
                {"role": "user", "content": turn.question},
            ]}),
            "output.value": turn.answer,
        }
        if turn.own_cost is not None:
            child_attributes["gen_ai.usage.cost"] = turn.own_cost
        context = trace_api.set_span_in_context(root)
        child = tracer.start_span(f"chat {turn.model}", context=context, attributes=child_attributes, start_time=start + 1000)
        child.end(end_time=end - 1000)
        root.end(end_time=end)
        sent.append(Turn(**{**turn.__dict__, "trace_id": f"{root.get_span_context().trace_id:032x}"}))
    provider.shutdown()
    server.store.flush()
    for turn in sent:
        if turn.feedback is None:
            continue
        response = httpx.post(
            f"{server.http_url}/api/v1/traces/{turn.trace_id}/assessments",
            json={"name": "user_feedback", "type": "feedback", "value": turn.feedback,
                  "rationale": "from the test", "source": {"source_type": "HUMAN", "source_id": "enduser_1"}},
            timeout=10,
        )
        response.raise_for_status()
    server.store.flush()
    return sent
