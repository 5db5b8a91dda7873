"""The LoggerProvider assessments travel through: log records correlated with a trace.

OpenTelemetry writes events as log records carrying the trace and span ids they are about
(the Span Event API is being deprecated, OTEP 4430), and the GenAI conventions define
``gen_ai.evaluation.result`` as such an event. ``configure()`` calls ``install_logger_provider``
next to the tracer setup: when the app already set a global LoggerProvider, that one is used
untouched; otherwise ours is installed with a ``BatchLogRecordProcessor`` and an OTLP log
exporter that reads the same ``OTEL_EXPORTER_OTLP_*`` variables as the span exporter.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from opentelemetry import _logs as logs_api

from otel_feedback._otlp_settings import (
    grpc_exporter_missing,
    grpc_insecure,
    http_signal_url,
    resolve_otlp_protocol,
)

try:
    # The API's placeholder before any provider is set; only its private module names it.
    from opentelemetry._logs._internal import ProxyLoggerProvider as _Placeholder
except ImportError:  # pragma: no cover - other API versions
    _Placeholder = logs_api.NoOpLoggerProvider  # type: ignore[misc,assignment]

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource

logger = logging.getLogger(__name__)

_LOGGER_NAME = "otel_feedback"


def app_has_logger_provider() -> bool:
    """True when a real global LoggerProvider exists (set by the app, or by us earlier)."""
    provider = logs_api.get_logger_provider()
    return not isinstance(provider, (_Placeholder, logs_api.NoOpLoggerProvider))


def resolve_logs_protocol(protocol: str | None) -> str:
    """``protocol`` as given, else the standard variables for logs, else http/protobuf."""
    return resolve_otlp_protocol(protocol, signal="logs")


def install_logger_provider(
    *,
    endpoint: str | None,
    default_endpoint: str,
    headers: dict[str, str] | None,
    protocol: str | None,
    resource: Resource,
) -> logs_api.LoggerProvider:
    """Install a global LoggerProvider exporting over OTLP, and return it.

    ``endpoint`` is the collector's base URL (HTTP) or ``host:port`` (gRPC); None leaves it to
    ``OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT``, then to
    ``default_endpoint``. Export failures are the batch processor's to log; nothing is raised
    into the app.
    """
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter

    exporter: LogRecordExporter
    if resolve_logs_protocol(protocol) == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcExporter
        except ImportError as exc:
            raise grpc_exporter_missing(exc) from None
        exporter = GrpcExporter(endpoint=endpoint, headers=headers, insecure=grpc_insecure(endpoint))
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpExporter

        url = http_signal_url(endpoint, signal="logs", default=default_endpoint)
        exporter = HttpExporter(endpoint=url, headers=headers)
    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    logs_api.set_logger_provider(provider)
    logger.info("otel_feedback: installed a LoggerProvider exporting assessments over OTLP")
    return provider


def get_event_logger(provider: logs_api.LoggerProvider | None) -> logs_api.Logger | None:
    """Our Logger from ``provider`` (or the global one); None when no provider can deliver."""
    from otel_feedback._version import __version__

    if provider is None:
        if not app_has_logger_provider():
            return None
        provider = logs_api.get_logger_provider()
    return provider.get_logger(_LOGGER_NAME, __version__)


def flush_logs(provider: logs_api.LoggerProvider | None, timeout_millis: int) -> bool:
    """Export every pending log record of ``provider`` (or the global one); True when all went out."""
    if provider is None:
        provider = logs_api.get_logger_provider()
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is None:
        return True
    return bool(force_flush(timeout_millis))
