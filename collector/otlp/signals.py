"""The three OTLP signals as data: their paths, message types and how their items are counted.

Everything else in the receiver is written once against :class:`Signal`, so traces, logs and
metrics share one decoding, validation and response path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2


@dataclass(frozen=True)
class Signal:
    """One OTLP signal: the HTTP path, the request/response messages and the item noun."""

    name: str
    http_path: str
    request_type: type[Message]
    response_type: type[Message]
    rejected_field: str
    stored: bool

    def new_request(self) -> Any:
        """Return an empty export request message of this signal."""
        return self.request_type()

    def response(self, *, rejected: int = 0, message: str = "") -> Any:
        """Return the export response; ``partial_success`` is set only when something was rejected."""
        response = self.response_type()
        if rejected or message:
            setattr(response.partial_success, self.rejected_field, rejected)
            response.partial_success.error_message = message
        return response


TRACES = Signal(
    name="traces",
    http_path="/v1/traces",
    request_type=trace_service_pb2.ExportTraceServiceRequest,
    response_type=trace_service_pb2.ExportTraceServiceResponse,
    rejected_field="rejected_spans",
    stored=True,
)
LOGS = Signal(
    name="logs",
    http_path="/v1/logs",
    request_type=logs_service_pb2.ExportLogsServiceRequest,
    response_type=logs_service_pb2.ExportLogsServiceResponse,
    rejected_field="rejected_log_records",
    stored=True,
)
METRICS = Signal(
    name="metrics",
    http_path="/v1/metrics",
    request_type=metrics_service_pb2.ExportMetricsServiceRequest,
    response_type=metrics_service_pb2.ExportMetricsServiceResponse,
    rejected_field="rejected_data_points",
    stored=False,
)

ALL_SIGNALS: tuple[Signal, ...] = (TRACES, LOGS, METRICS)
