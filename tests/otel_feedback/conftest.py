"""Fixtures for the SDK tests: OTLP sinks that record what an exporter really sent."""

from __future__ import annotations

import gzip
import http.server
import threading
import zlib
from collections.abc import Iterator
from concurrent import futures

import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from otlp_sink_support import OtlpSink, ReceivedExport


@pytest.fixture
def http_sink() -> Iterator[OtlpSink]:
    """An OTLP/HTTP protobuf receiver of traces and logs on a free loopback port (``sink.url`` is
    its base URL); any other path gets 404."""
    sink = OtlpSink()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            with sink.lock:
                sink.paths.append(self.path)
            if self.path == "/v1/traces":
                request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                with sink.lock:
                    sink.exports.append(ReceivedExport(request, {k.lower(): v for k, v in self.headers.items()}))
                payload = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            elif self.path == "/v1/logs":
                logs = logs_service_pb2.ExportLogsServiceRequest.FromString(body)
                with sink.lock:
                    sink.log_exports.append(logs)
                payload = logs_service_pb2.ExportLogsServiceResponse().SerializeToString()
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sink.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def grpc_sink() -> Iterator[OtlpSink]:
    """An OTLP/gRPC trace receiver on a free loopback port (``sink.url`` is ``host:port``)."""
    import grpc

    sink = OtlpSink()

    class Service(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):  # noqa: N802 - gRPC's naming
            with sink.lock:
                sink.exports.append(ReceivedExport(request, dict(context.invocation_metadata())))
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sink.url = f"127.0.0.1:{port}"
    try:
        yield sink
    finally:
        server.stop(grace=None)
