"""Which spans and log records are kept: the rules behind OTLP ``partial_success``.

A span needs a 16-byte, non-zero trace id, an 8-byte, non-zero span id, and a parent span id
that is empty or 8 bytes; its links' ids must at least be hex. A log record may have no trace
context, but ids it does carry must have those lengths. Items that break a rule are removed from
the request (the rest is stored) and counted, and the first few reasons are reported back to the
sender.

OTLP/JSON carries ids as hex text. One that is not hex (base64, odd length, other text) must
cost only its own span, not the request, so the JSON decoder puts :func:`unreadable_id` bytes in
its place and the rules here reject the item holding it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from otel_feedback_collector.otlp.signals import LOGS, TRACES, Signal

_TRACE_ID_BYTES = 16
_SPAN_ID_BYTES = 8
_REASONS_REPORTED = 3
# Starts the placeholder of an id that was not hex in OTLP/JSON. 0xff is never the first byte
# of the UTF-8 text that follows, so the original can be shown back to the sender.
_UNREADABLE_ID = b"\xffnot hex:"
_ORIGINAL_SHOWN = 64


def unreadable_id(text: str) -> bytes:
    """Placeholder bytes for an OTLP/JSON id that is not hex: never a valid id length, so the
    item holding it is rejected, and it keeps (the start of) the original text for the reason."""
    placeholder = _UNREADABLE_ID + text[:_ORIGINAL_SHOWN].encode("utf-8", "replace")
    if len(placeholder) in (_SPAN_ID_BYTES, _TRACE_ID_BYTES):
        placeholder += b"."
    return placeholder


def _is_unreadable(raw: bytes) -> bool:
    # Placeholders never have an id's length, so a real id can never be taken for one.
    return len(raw) not in (_SPAN_ID_BYTES, _TRACE_ID_BYTES) and raw.startswith(_UNREADABLE_ID)


def _shown(raw: bytes) -> str:
    """An id as the sender wrote it: hex, or the text that was not hex."""
    if _is_unreadable(raw):
        text = raw[len(_UNREADABLE_ID) :].decode("utf-8", "replace")
        return f"{text!r} (not hex; OTLP/JSON ids are hex strings, not base64)"
    return repr(raw.hex())


@dataclass
class ValidationResult:
    """What validation kept and rejected; ``message`` is empty when nothing was rejected."""

    accepted: int = 0
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        """A sentence for ``partial_success.error_message`` naming the first few faults."""
        if not self.rejected:
            return ""
        shown = "; ".join(self.reasons[:_REASONS_REPORTED])
        more = "" if self.rejected <= _REASONS_REPORTED else f" (and {self.rejected - _REASONS_REPORTED} more)"
        return f"{self.rejected} item(s) rejected: {shown}{more}."


def validate_request(signal: Signal, request: Any) -> ValidationResult:
    """Remove invalid items from ``request`` in place and return the counts.

    Metrics are not stored, so they are counted but never checked.
    """
    if signal is TRACES:
        return _filter(request.resource_spans, "scope_spans", "spans", _span_fault, _plainly_valid_span)
    if signal is LOGS:
        return _filter(request.resource_logs, "scope_logs", "log_records", _log_record_fault)
    return ValidationResult()


def _filter(
    resources: Any,
    scope_field: str,
    item_field: str,
    fault_of: Callable[[Any], str | None],
    plainly_valid: Callable[[Any], bool] | None = None,
) -> ValidationResult:
    """``plainly_valid``, when given, is a cheaper check of the common case: an item it passes
    has no fault; an item it does not pass may still have none (``fault_of`` decides)."""
    result = ValidationResult()
    for resource in resources:
        for scope in getattr(resource, scope_field):
            items = getattr(scope, item_field)
            if plainly_valid is not None and all(map(plainly_valid, items)):
                result.accepted += len(items)
                continue
            bad: list[int] = []
            for index, item in enumerate(items):
                fault = fault_of(item)
                if fault is None:
                    continue
                bad.append(index)
                if len(result.reasons) < _REASONS_REPORTED:
                    result.reasons.append(fault)
            for index in reversed(bad):
                del items[index]
            result.rejected += len(bad)
            result.accepted += len(items)
    return result


_ZERO_TRACE_ID = bytes(_TRACE_ID_BYTES)
_ZERO_SPAN_ID = bytes(_SPAN_ID_BYTES)


def _plainly_valid_span(span: Any) -> bool:
    """True for a span :func:`_span_fault` passes and that has no links (nearly every span),
    checked with fewer protobuf reads and no per-byte loops; a span with links goes to
    :func:`_span_fault`."""
    trace_id = span.trace_id
    span_id = span.span_id
    parent = span.parent_span_id
    return (
        len(trace_id) == _TRACE_ID_BYTES
        and len(span_id) == _SPAN_ID_BYTES
        and (not parent or len(parent) == _SPAN_ID_BYTES)
        and trace_id != _ZERO_TRACE_ID
        and span_id != _ZERO_SPAN_ID
        and not span.links
    )


def _span_fault(span: Any) -> str | None:
    trace_id = span.trace_id
    span_id = span.span_id
    if len(trace_id) != _TRACE_ID_BYTES or not any(trace_id):
        return f"span {span.name!r} has trace id {_shown(trace_id)}, which is not 16 non-zero bytes"
    if len(span_id) != _SPAN_ID_BYTES or not any(span_id):
        return f"span {span.name!r} has span id {_shown(span_id)}, which is not 8 non-zero bytes"
    parent = span.parent_span_id
    if parent and len(parent) != _SPAN_ID_BYTES:
        return f"span {span.name!r} has parent span id {_shown(parent)}, which is neither empty nor 8 bytes"
    for link in span.links:
        for raw in (link.trace_id, link.span_id):
            if _is_unreadable(raw):
                return f"span {span.name!r} has a link with id {_shown(raw)}"
    return None


def _log_record_fault(record: Any) -> str | None:
    trace_id = record.trace_id
    span_id = record.span_id
    if trace_id and len(trace_id) != _TRACE_ID_BYTES:
        return f"log record has trace id {_shown(trace_id)}, which is neither empty nor 16 bytes"
    if span_id and len(span_id) != _SPAN_ID_BYTES:
        return f"log record has span id {_shown(span_id)}, which is neither empty nor 8 bytes"
    return None
