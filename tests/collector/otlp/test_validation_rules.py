"""The receiver's quick pass over plainly valid spans keeps and rejects exactly what the span
rules (``_span_fault``, one span at a time) keep and reject, on scopes mixing good and bad ids."""

from __future__ import annotations

import random

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_feedback_collector.otlp.signals import TRACES
from otel_feedback_collector.otlp.validation import _span_fault, unreadable_id, validate_request


def _id(rng: random.Random, size: int) -> bytes:
    return rng.choice(
        [
            rng.randbytes(size), rng.randbytes(size), rng.randbytes(size), bytes(size), b"",
            bytes(size - 1) + b"\x01", rng.randbytes(size - 1), rng.randbytes(size + 1),
            unreadable_id("zz"), unreadable_id("x" * 7),
        ]
    )


def _span(rng: random.Random, number: int) -> Span:
    span = Span(
        name=f"s{number}",
        trace_id=_id(rng, 16),
        span_id=_id(rng, 8),
        parent_span_id=rng.choice([b"", b"", _id(rng, 8)]),
    )
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        span.links.add(trace_id=_id(rng, 16), span_id=_id(rng, 8))
    return span


def test_the_quick_pass_keeps_and_rejects_what_the_span_rules_do() -> None:
    rng = random.Random(15)
    number = 0
    for _ in range(300):
        request = ExportTraceServiceRequest()
        expected_kept: list[list[str]] = []
        expected_faults: list[str] = []
        for _ in range(rng.randint(1, 3)):
            for _ in range(rng.randint(1, 3)):
                scope = request.resource_spans.add().scope_spans.add()
                kept = []
                # Mostly valid spans, so that many scopes have none or one bad span.
                for _ in range(rng.randint(0, 8)):
                    span = _span(rng, number) if rng.random() < 0.2 else Span(
                        name=f"s{number}", trace_id=rng.randbytes(15) + b"\x01", span_id=rng.randbytes(7) + b"\x01"
                    )
                    number += 1
                    scope.spans.append(span)
                    fault = _span_fault(span)
                    if fault is None:
                        kept.append(span.name)
                    else:
                        expected_faults.append(fault)
                expected_kept.append(kept)
        result = validate_request(TRACES, request)
        kept_names = [[span.name for span in scope.spans] for rs in request.resource_spans for scope in rs.scope_spans]
        assert kept_names == expected_kept
        assert result.accepted == sum(map(len, expected_kept))
        assert result.rejected == len(expected_faults)
        assert result.reasons == expected_faults[:3]


def test_all_zero_and_short_ids_are_rejected_among_valid_spans() -> None:
    good = {"trace_id": b"\x01" * 16, "span_id": b"\x02" * 8}
    bad = [
        {"trace_id": bytes(16), "span_id": b"\x02" * 8},
        {"trace_id": b"\x01" * 16, "span_id": bytes(8)},
        {"trace_id": b"\x01" * 15, "span_id": b"\x02" * 8},
        {**good, "parent_span_id": b"\x03" * 4},
    ]
    for fields in bad:
        request = ExportTraceServiceRequest()
        request.resource_spans.add().scope_spans.add().spans.extend([Span(**good), Span(**fields), Span(**good)])
        result = validate_request(TRACES, request)
        assert (result.accepted, result.rejected) == (2, 1), fields
