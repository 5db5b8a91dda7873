"""OTLP/gRPC: TraceService, LogsService and MetricsService ``Export`` on one gRPC server.

The services call the same :class:`ExportPipeline` as OTLP/HTTP, on gRPC's own bounded thread
pool. Errors map to the OTLP gRPC codes; when the write path is full the call fails with
RESOURCE_EXHAUSTED or UNAVAILABLE and carries the retry delay as ``google.rpc.RetryInfo`` both
inside ``grpc-status-details-bin`` (the standard place) and as ``google.rpc.retryinfo-bin`` (where
the OpenTelemetry Python exporter looks). At most ``max_pending_requests`` calls are running or waiting
for one of the ``worker_threads``; past that gRPC answers RESOURCE_EXHAUSTED itself. gzip-compressed messages are
inflated by gRPC itself; ``max_message_bytes`` bounds a message's size after decompression.

The services are registered with the raw message bytes as the request and parse them here: a
message that is not valid protobuf gets INVALID_ARGUMENT with a plain message, as OTLP says,
instead of gRPC's own INTERNAL "Exception deserializing request!" and a logged traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from otel_feedback_collector.otlp.auth import BearerTokenInterceptor
from otel_feedback_collector.otlp.encoding import MessageEncoding, decode_message
from otel_feedback_collector.otlp.errors import MalformedRequest, OtlpError, release_frames
from otel_feedback_collector.otlp.inflight import InflightBudget
from otel_feedback_collector.otlp.ingest import ExportPipeline
from otel_feedback_collector.otlp.signals import ALL_SIGNALS, Signal

_logger = logging.getLogger(__name__)


class _ExportServicer:
    """The ``Export`` method of one OTLP gRPC service; takes the message as bytes."""

    def __init__(self, signal: Signal, pipeline: ExportPipeline, inflight: InflightBudget) -> None:
        self._signal = signal
        self._pipeline = pipeline
        self._inflight = inflight

    def Export(self, body: bytes, context: grpc.ServicerContext) -> Any:  # noqa: N802 - gRPC's name
        """Parse and handle one export; aborts the call with the matching status code on failure."""
        try:
            with self._inflight.claim() as claim:
                # gRPC has already received (and inflated) the message; holding it here refuses
                # the decode and the store's copy when the budget is spent.
                claim.charge(len(body))
                claim.charge_decoding(len(body), MessageEncoding.PROTOBUF)
                request = self._signal.new_request()
                decode_message(body, MessageEncoding.PROTOBUF, request)
                return self._pipeline.export(self._signal, request, original=(body, MessageEncoding.PROTOBUF))
        except OtlpError as exc:
            release_frames(exc)
            if isinstance(exc, MalformedRequest):
                _logger.info("Refused a malformed gRPC %s export from %s: %s", self._signal.name, context.peer(), exc)
            if exc.retry_after is not None:
                context.set_trailing_metadata(retry_metadata(exc))
            context.abort(exc.grpc_code, exc.message)
        raise AssertionError("unreachable: context.abort raises")  # pragma: no cover

    def handler(self) -> grpc.GenericRpcHandler:
        """The generic handler serving ``<service>/Export`` with this servicer."""
        (service,) = self._signal.request_type.DESCRIPTOR.file.services_by_name.values()
        export = grpc.unary_unary_rpc_method_handler(
            self.Export, response_serializer=self._signal.response_type.SerializeToString
        )
        return grpc.method_handlers_generic_handler(service.full_name, {"Export": export})


def retry_metadata(error: OtlpError) -> Sequence[tuple[str, bytes]]:
    """Trailing metadata carrying a ``google.rpc.RetryInfo`` for ``error.retry_after`` seconds."""
    delay = float(error.retry_after or 0.0)
    seconds = int(delay)
    retry_info = error_details_pb2.RetryInfo(
        retry_delay=duration_pb2.Duration(seconds=seconds, nanos=int((delay - seconds) * 1e9))
    )
    detail = any_pb2.Any()
    detail.Pack(retry_info)
    status = status_pb2.Status(code=error.grpc_code.value[0], message=error.message, details=[detail])
    return (
        ("grpc-status-details-bin", status.SerializeToString()),
        ("google.rpc.retryinfo-bin", retry_info.SerializeToString()),
    )


class OtlpGrpcReceiver:
    """A gRPC server with the three OTLP services, bound to ``host:port`` (0 picks a free port)."""

    def __init__(
        self,
        pipeline: ExportPipeline,
        *,
        host: str = "127.0.0.1",
        port: int = 4317,
        max_message_bytes: int,
        worker_threads: int = 8,
        max_pending_requests: int = 32,
        token: str | None = None,
        handshake_timeout: float = 10.0,
        inflight: InflightBudget | None = None,
    ) -> None:
        if max_message_bytes < 1:
            raise ValueError("max_message_bytes must be a positive number of bytes.")
        if worker_threads < 1 or max_pending_requests < 1:
            raise ValueError("worker_threads and max_pending_requests must be at least 1.")
        interceptors = [BearerTokenInterceptor(token=token)] if token else []
        self._server = grpc.server(
            ThreadPoolExecutor(max_workers=worker_threads, thread_name_prefix="otlp-grpc"),
            interceptors=interceptors,
            options=[
                ("grpc.max_receive_message_length", max_message_bytes),
                ("grpc.so_reuseport", 0),
                # A connection that never completes the HTTP/2 handshake is dropped after this.
                ("grpc.server_handshake_timeout_ms", max(1, int(handshake_timeout * 1000))),
            ],
            # Calls waiting for a worker thread count too; past the limit gRPC itself answers
            # RESOURCE_EXHAUSTED (without retry info) instead of queueing more messages in memory.
            maximum_concurrent_rpcs=max_pending_requests,
        )
        budget = inflight if inflight is not None else InflightBudget()
        self._server.add_generic_rpc_handlers(
            [_ExportServicer(signal, pipeline, budget).handler() for signal in ALL_SIGNALS]
        )
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            self.port = self._server.add_insecure_port(address)
        except RuntimeError as exc:
            raise OSError(f"Could not bind the OTLP/gRPC port {address}: {exc}; choose another --grpc-port.") from exc
        if self.port == 0:
            raise OSError(f"Could not bind the OTLP/gRPC port {address}; it is taken, choose another --grpc-port.")
        self.host = host

    def start(self) -> None:
        """Start serving in gRPC's own threads."""
        self._server.start()

    def stop(self, *, grace: float = 5.0) -> None:
        """Stop taking calls and wait up to ``grace`` seconds for running calls to finish."""
        self._server.stop(grace).wait(grace + 1.0)
