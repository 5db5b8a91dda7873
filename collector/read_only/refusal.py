"""Refusing writes on the read-only server: one JSON error that says where to write instead.

The read-only server reads directories other collectors own (and may be writing right now);
it has no write-ahead log, no catalog and no lock of its own, so it cannot store anything.
Assessments, OTLP exports and labeling changes belong to the collector that owns the trace:
behind a front that routes by trace id (the OpenTelemetry Collector's ``load_balancing``
exporter, docs/scaling.md), sending them to the front reaches it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from otel_feedback_collector.api.errors import error_response
from otel_feedback_collector.otlp.auth import is_read_request

READ_ONLY_CODE = "READ_ONLY"
READ_ONLY_MESSAGE = (
    "This is a read-only otel-feedback server (serve --read-only): it reads several collectors' "
    "data directories and stores nothing. Send assessments where the app sends its traces: "
    "log_feedback() through the OTLP front that routes by trace id, or POST "
    "/api/v1/traces/{trace_id}/assessments on the collector that received the trace."
)


class ReadOnlyMiddleware:
    """ASGI middleware answering 403 ``READ_ONLY`` to every HTTP request that could change data
    (anything but GET, HEAD and the read-only POST routes such as the trace search)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_read_request(scope):
            await self._app(scope, receive, send)
            return
        response = error_response(403, READ_ONLY_MESSAGE, code=READ_ONLY_CODE)
        await response(scope, receive, send)
