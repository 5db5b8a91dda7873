"""``configure()``: where spans go, and the switches the tracing code reads on its hot path.

Importing otel_feedback reads a few environment variables and does nothing else: no threads,
no sockets, no TracerProvider. ``configure()`` installs a provider with a batching OTLP
exporter only when the app has no SDK provider of its own; an app that set one keeps it,
untouched, and our spans go through its processors and exporters.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import _logs as logs_api
from opentelemetry import trace as trace_api

from otel_feedback import _logs, _serialize
from otel_feedback._otlp_settings import (
    grpc_exporter_missing,
    grpc_insecure,
    http_signal_url,
    resolve_otlp_protocol,
)
from otel_feedback_core.wire import EXPERIMENT, PROJECT_NAME

logger = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "http://127.0.0.1:4318"
_TRACER_NAME = "otel_feedback"

_FALSE_WORDS = frozenset({"0", "false", "no", "off", "disabled"})


def _env_flag(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    return raw.strip().lower() not in _FALSE_WORDS


def _enabled_from_env() -> bool:
    # OTEL_SDK_DISABLED=true is the standard switch; OTEL_FEEDBACK_TRACING=off is ours.
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return _env_flag("OTEL_FEEDBACK_TRACING", default=True)


@dataclass
class Settings:
    """What the tracing code reads on every call. One instance, ``settings``, lives here."""

    enabled: bool = field(default_factory=_enabled_from_env)
    experiment: str | None = field(default_factory=lambda: os.environ.get("OTEL_FEEDBACK_EXPERIMENT") or None)
    endpoint: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    tracer_provider: trace_api.TracerProvider | None = None
    installed_provider: trace_api.TracerProvider | None = None
    logger_provider: logs_api.LoggerProvider | None = None


settings = Settings()
_lock = threading.Lock()
_tracer: trace_api.Tracer | None = None


def get_tracer() -> trace_api.Tracer:
    """The tracer otel_feedback creates its spans with (also used by our instrumentors).

    It is cached once a real provider exists (ours, the app's, or one passed to configure);
    before that every call asks the API again, so a provider the app sets later is picked up.
    """
    global _tracer
    tracer = _tracer
    if tracer is not None:
        return tracer
    from otel_feedback._version import __version__

    provider = settings.tracer_provider or trace_api.get_tracer_provider()
    tracer = provider.get_tracer(_TRACER_NAME, __version__)
    if not isinstance(provider, trace_api.ProxyTracerProvider):
        _tracer = tracer
    return tracer


def tracer_is_recording() -> bool:
    """False while no provider exists: spans are no-ops, so capturing inputs is wasted work."""
    return _tracer is not None


def _reset_tracer() -> None:
    global _tracer
    _tracer = None


@dataclass(frozen=True)
class Configuration:
    """What ``configure()`` did: which provider our spans use and whether we installed it."""

    enabled: bool
    installed_provider: bool
    tracer_provider: trace_api.TracerProvider
    endpoint: str | None
    experiment: str | None


def configure(
    endpoint: str | None = None,
    *,
    service_name: str | None = None,
    experiment: str | None = None,
    headers: Mapping[str, str] | None = None,
    token: str | None = None,
    protocol: str | None = None,
    tracer_provider: trace_api.TracerProvider | None = None,
    logger_provider: logs_api.LoggerProvider | None = None,
    enabled: bool | None = None,
    max_content_chars: int | None = None,
) -> Configuration:
    """Set where spans go and how they are captured.

    - ``endpoint``: the collector's base URL (``http://127.0.0.1:4318`` by default) for
      OTLP/HTTP, or ``host:port`` for gRPC. When omitted, the standard ``OTEL_EXPORTER_OTLP_*``
      variables decide, as in any OTel SDK. It is also where feedback and search go later.
    - ``service_name`` and ``experiment`` name the app and group its traces in the UI.
    - ``headers`` / ``token`` are sent with every export (``token`` as a bearer token).
    - ``protocol``: ``"http/protobuf"`` (default) or ``"grpc"``; ``OTEL_EXPORTER_OTLP_PROTOCOL``
      is honoured.
    - ``tracer_provider``: use this provider for our spans instead of the global one.
    - ``logger_provider``: send assessments (log records) through this provider instead of the
      global one.
    - ``enabled=False`` turns every ``@trace`` into a plain call (as does ``OTEL_SDK_DISABLED=true``
      or ``OTEL_FEEDBACK_TRACING=off``).

    When the app already has an SDK ``TracerProvider`` (or passes one), it is used and nothing
    about it changes: no processor or exporter is added. Otherwise one is installed as the global
    provider with a ``BatchSpanProcessor`` and an OTLP exporter. Likewise for assessments: an
    app's global ``LoggerProvider`` is used as it is, otherwise one is installed with a
    ``BatchLogRecordProcessor`` and an OTLP log exporter to the same place.
    """
    if max_content_chars is not None:
        if not isinstance(max_content_chars, int) or max_content_chars <= 0:
            raise ValueError(f"max_content_chars must be a positive integer; got {max_content_chars!r}")
        _serialize.max_chars = max_content_chars
    merged_headers = dict(headers or {})
    if token:
        merged_headers["Authorization"] = f"Bearer {token}"
    protocol_argument = protocol
    protocol = _resolve_protocol(protocol)
    _logs.resolve_logs_protocol(protocol_argument)  # a bad OTEL_EXPORTER_OTLP_LOGS_PROTOCOL fails here

    with _lock:
        if enabled is not None:
            settings.enabled = bool(enabled)
        if experiment is not None:
            settings.experiment = experiment or None
        if endpoint is not None:
            settings.endpoint = endpoint.rstrip("/")
        settings.headers = merged_headers
        if tracer_provider is not None:
            settings.tracer_provider = tracer_provider
            _reset_tracer()
            provider: trace_api.TracerProvider = tracer_provider
            installed = False
        else:
            provider = trace_api.get_tracer_provider()
            installed = False
            if settings.enabled and _needs_provider(provider):
                provider = _install_provider(
                    endpoint=endpoint,
                    service_name=service_name,
                    experiment=settings.experiment,
                    headers=merged_headers or None,
                    protocol=protocol,
                )
                installed = True
            elif service_name is not None:
                logger.info(
                    "otel_feedback: the app already has a TracerProvider; service_name=%r is left to it",
                    service_name,
                )
        if logger_provider is not None:
            settings.logger_provider = logger_provider
        elif settings.enabled and settings.logger_provider is None and not _logs.app_has_logger_provider():
            _logs.install_logger_provider(
                endpoint=endpoint,
                default_endpoint=DEFAULT_ENDPOINT,
                headers=merged_headers or None,
                protocol=protocol_argument,
                resource=_resource_of(provider, service_name=service_name, experiment=settings.experiment),
            )
        return Configuration(
            enabled=settings.enabled,
            installed_provider=installed,
            tracer_provider=provider,
            endpoint=settings.endpoint,
            experiment=settings.experiment,
        )


def _needs_provider(provider: trace_api.TracerProvider) -> bool:
    # Only the API's placeholder means "the app has none"; any real provider (the SDK's, or
    # another implementation of the API) belongs to the app and is used as it is.
    return isinstance(provider, trace_api.ProxyTracerProvider)


def _resolve_protocol(protocol: str | None) -> str:
    return resolve_otlp_protocol(protocol, signal="traces")


def _install_provider(
    *,
    endpoint: str | None,
    service_name: str | None,
    experiment: str | None,
    headers: dict[str, str] | None,
    protocol: str,
) -> trace_api.TracerProvider:
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

    attributes: dict[str, str] = {}
    if service_name:
        attributes[SERVICE_NAME] = service_name
    if experiment:
        attributes[EXPERIMENT] = experiment
        attributes[PROJECT_NAME] = experiment  # Phoenix files traces by this resource attribute
    exporter: SpanExporter
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
        except ImportError as exc:
            raise grpc_exporter_missing(exc) from None

        exporter = GrpcExporter(endpoint=endpoint, headers=headers, insecure=grpc_insecure(endpoint))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        url = http_signal_url(endpoint, signal="traces", default=DEFAULT_ENDPOINT)
        exporter = HttpExporter(endpoint=url, headers=headers)
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace_api.set_tracer_provider(provider)
    settings.installed_provider = provider
    _reset_tracer()
    logger.info("otel_feedback: installed a TracerProvider exporting over OTLP (%s)", protocol)
    return provider


def _resource_of(
    provider: trace_api.TracerProvider, *, service_name: str | None, experiment: str | None
) -> Any:
    # Assessments describe the same app as its spans: reuse the SDK provider's resource.
    resource = getattr(provider, "resource", None)
    if resource is not None:
        return resource
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    attributes: dict[str, str] = {}
    if service_name:
        attributes[SERVICE_NAME] = service_name
    if experiment:
        attributes[EXPERIMENT] = experiment
    return Resource.create(attributes)


def flush(timeout_millis: int = 30_000) -> bool:
    """Export every finished span and assessment now (e.g. before a script exits); True when all went out."""
    provider = settings.tracer_provider or trace_api.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    spans_out = True if force_flush is None else bool(force_flush(timeout_millis))
    logs_out = _logs.flush_logs(settings.logger_provider, timeout_millis)
    return spans_out and logs_out
