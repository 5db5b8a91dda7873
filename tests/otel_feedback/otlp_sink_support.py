"""OTLP sinks for the SDK tests: they record what an exporter really sent."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2


@dataclass
class ReceivedExport:
    """One OTLP export request as a sink received it."""

    request: trace_service_pb2.ExportTraceServiceRequest
    headers: dict[str, str]


@dataclass
class OtlpSink:
    """What a sink has received so far, with helpers to read the spans out."""

    url: str = ""
    exports: list[ReceivedExport] = field(default_factory=list)
    log_exports: list[logs_service_pb2.ExportLogsServiceRequest] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def spans(self) -> list[tuple[dict[str, object], object]]:
        """(resource attributes, span) for every span received."""
        out = []
        with self.lock:
            for export in self.exports:
                for resource_spans in export.request.resource_spans:
                    resource = {kv.key: _any_value(kv.value) for kv in resource_spans.resource.attributes}
                    for scope_spans in resource_spans.scope_spans:
                        out.extend((resource, span) for span in scope_spans.spans)
        return out

    def log_records(self) -> list[object]:
        """Every OTLP log record received (``/v1/logs``), in arrival order."""
        with self.lock:
            return [
                record
                for export in self.log_exports
                for resource_logs in export.resource_logs
                for scope_logs in resource_logs.scope_logs
                for record in scope_logs.log_records
            ]


def _any_value(value) -> object:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def span_attributes(span) -> dict[str, object]:
    """A received protobuf span's (or log record's) attributes as a plain dict."""
    return {kv.key: _any_value(kv.value) for kv in span.attributes}


