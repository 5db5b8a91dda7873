"""The trace-level fields of one chat turn (session, user), set on the app's local root span.

A request handler thread runs the app inside :func:`turn_fields`; :class:`TurnFieldsProcessor`,
added once to the tracer provider, gives every span that starts a local root during that turn
(no parent, or a parent in another process) the same attributes ``update_current_trace(session=,
user=)`` would set. Spans below it are left alone, as ``update_current_trace`` leaves them.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Iterator
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import SpanProcessor

from otel_feedback._config import settings
from otel_feedback_core.wire import CONVERSATION_ID, SESSION_ID, USER_ID

logger = logging.getLogger(__name__)

_fields: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("otel_feedback_turn", default=None)
_installed: set[int] = set()
_installed_guard = threading.Lock()


@contextlib.contextmanager
def turn_fields(*, session: str | None, user: str | None) -> Iterator[None]:
    """Local roots started inside this block get ``session.id`` (and the conversation id) and ``user.id``."""
    fields: dict[str, str] = {}
    if session:
        fields[SESSION_ID] = session
        fields[CONVERSATION_ID] = session
    if user:
        fields[USER_ID] = user
    token = _fields.set(fields or None)
    try:
        yield
    finally:
        _fields.reset(token)


class TurnFieldsProcessor(SpanProcessor):
    """A span processor that stamps a turn's fields on local roots."""

    def on_start(self, span: Any, parent_context: context_api.Context | None = None) -> None:
        fields = _fields.get()
        if not fields:
            return
        parent = trace_api.get_current_span(parent_context).get_span_context()
        if parent.is_valid and not parent.is_remote:
            return
        span.set_attributes(fields)


def install_turn_fields() -> bool:
    """Add the processor to the provider our spans use (once); False when that provider takes none."""
    provider = settings.tracer_provider or trace_api.get_tracer_provider()
    add = getattr(provider, "add_span_processor", None)
    if add is None:
        logger.warning("otel_feedback chat-app: the tracer provider takes no span processors; "
                       "chat turns will not carry their session id")
        return False
    with _installed_guard:
        if id(provider) not in _installed:
            add(TurnFieldsProcessor())
            _installed.add(id(provider))
    return True
