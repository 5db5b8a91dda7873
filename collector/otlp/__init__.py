"""The collector's OTLP receivers: OTLP/HTTP routes and OTLP/gRPC services over one pipeline.

- :mod:`otel_feedback_collector.otlp.body` reads and inflates bodies within a size limit,
- :mod:`otel_feedback_collector.otlp.encoding` decodes OTLP protobuf and OTLP JSON and encodes answers,
- :mod:`otel_feedback_collector.otlp.validation` decides which spans and log records are kept,
- :mod:`otel_feedback_collector.otlp.ingest` validates, stores durably and forwards (shared by both transports),
- :mod:`otel_feedback_collector.otlp.http_routes` and :mod:`otel_feedback_collector.otlp.grpc_services` are the transports,
- :mod:`otel_feedback_collector.otlp.auth` is the bearer-token rule, :mod:`otel_feedback_collector.otlp.forwarding` the copy
  sent on to another OTLP endpoint.
"""

from __future__ import annotations

from otel_feedback_collector.otlp.auth import BearerTokenInterceptor, BearerTokenMiddleware, token_matches
from otel_feedback_collector.otlp.errors import (
    Backpressure,
    MalformedRequest,
    OtlpError,
    PayloadTooLarge,
    UnsupportedEncoding,
    UnsupportedMediaType,
)
from otel_feedback_collector.otlp.forwarding import Forwarder
from otel_feedback_collector.otlp.grpc_services import OtlpGrpcReceiver
from otel_feedback_collector.otlp.http_routes import OtlpHttpReceiver
from otel_feedback_collector.otlp.ingest import ExportPipeline, SpanSink
from otel_feedback_collector.otlp.signals import LOGS, METRICS, TRACES, Signal

__all__ = [
    "LOGS",
    "METRICS",
    "TRACES",
    "Backpressure",
    "BearerTokenInterceptor",
    "BearerTokenMiddleware",
    "ExportPipeline",
    "Forwarder",
    "MalformedRequest",
    "OtlpError",
    "OtlpGrpcReceiver",
    "OtlpHttpReceiver",
    "PayloadTooLarge",
    "Signal",
    "SpanSink",
    "UnsupportedEncoding",
    "UnsupportedMediaType",
    "token_matches",
]
