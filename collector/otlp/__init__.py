"""The collector's OTLP receivers: OTLP/HTTP routes and OTLP/gRPC services over one pipeline.

- :mod:`collector.otlp.body` reads and inflates bodies within a size limit,
- :mod:`collector.otlp.encoding` decodes OTLP protobuf and OTLP JSON and encodes answers,
- :mod:`collector.otlp.validation` decides which spans and log records are kept,
- :mod:`collector.otlp.ingest` validates, stores durably and forwards (shared by both transports),
- :mod:`collector.otlp.http_routes` and :mod:`collector.otlp.grpc_services` are the transports,
- :mod:`collector.otlp.auth` is the bearer-token rule, :mod:`collector.otlp.forwarding` the copy
  sent on to another OTLP endpoint.
"""

from __future__ import annotations

from collector.otlp.auth import BearerTokenInterceptor, BearerTokenMiddleware, token_matches
from collector.otlp.errors import (
    Backpressure,
    MalformedRequest,
    OtlpError,
    PayloadTooLarge,
    UnsupportedEncoding,
    UnsupportedMediaType,
)
from collector.otlp.forwarding import Forwarder
from collector.otlp.grpc_services import OtlpGrpcReceiver
from collector.otlp.http_routes import OtlpHttpReceiver
from collector.otlp.ingest import ExportPipeline, SpanSink
from collector.otlp.signals import LOGS, METRICS, TRACES, Signal

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
