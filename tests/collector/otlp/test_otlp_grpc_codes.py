"""OTLP/gRPC: the Export services, their status codes, retry info, gzip and the size limit."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.server import CollectorProcess, CollectorServer
from otlp_recording_store import RecordingStore


@pytest.fixture
def channel(recording_collector: CollectorServer) -> Iterator[grpc.Channel]:
    assert recording_collector.grpc_endpoint is not None
    with grpc.insecure_channel(recording_collector.grpc_endpoint) as channel:
        yield channel


def test_trace_export_is_stored(channel: grpc.Channel, recording_store: RecordingStore) -> None:
    request = genai_trace_request(3)
    response = trace_service_pb2_grpc.TraceServiceStub(channel).Export(request, timeout=10)
    assert not response.HasField("partial_success")
    assert len(recording_store.spans()) == 9


def test_gzip_compressed_call_is_accepted(channel: grpc.Channel, recording_store: RecordingStore) -> None:
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    stub.Export(genai_trace_request(2), timeout=10, compression=grpc.Compression.Gzip)
    assert len(recording_store.spans()) == 6


def test_partial_success_counts(channel: grpc.Channel, recording_store: RecordingStore) -> None:
    request = genai_trace_request(2)
    request.resource_spans[0].scope_spans[0].spans[0].span_id = b""
    response = trace_service_pb2_grpc.TraceServiceStub(channel).Export(request, timeout=10)
    assert response.partial_success.rejected_spans == 1
    assert len(recording_store.spans()) == 5


def test_logs_and_metrics_services(channel: grpc.Channel, recording_store: RecordingStore) -> None:
    logs = logs_service_pb2.ExportLogsServiceRequest()
    logs.resource_logs.add().scope_logs.add().log_records.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
    logs_service_pb2_grpc.LogsServiceStub(channel).Export(logs, timeout=10)
    metrics = metrics_service_pb2.ExportMetricsServiceRequest()
    metrics.resource_metrics.add()
    metrics_service_pb2_grpc.MetricsServiceStub(channel).Export(metrics, timeout=10)
    assert len(recording_store.logs) == 1
    assert recording_store.traces == []


@pytest.mark.parametrize(
    ("service", "body"),
    [
        ("trace.v1.TraceService", b"\xff\xff\xff"),
        ("trace.v1.TraceService", b"\x0a\x05\x0a\x03\xff\xff"),  # a length past the end
        ("logs.v1.LogsService", b"\x0a\x80"),
        ("metrics.v1.MetricsService", b"\x0f"),
    ],
)
def test_malformed_message_gets_invalid_argument_without_a_traceback(
    channel: grpc.Channel,
    recording_store: RecordingStore,
    caplog: pytest.LogCaptureFixture,
    service: str,
    body: bytes,
) -> None:
    # gRPC's own deserializer answered INTERNAL "Exception deserializing request!" and logged a
    # traceback for every such call; OTLP (and docs/collector.md) say INVALID_ARGUMENT.
    export = channel.unary_unary(
        f"/opentelemetry.proto.collector.{service}/Export",
        request_serializer=lambda raw: raw,
        response_deserializer=lambda raw: raw,
    )
    with pytest.raises(grpc.RpcError) as caught:
        export(body, timeout=10)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "is not a valid protobuf Export" in (caught.value.details() or "")
    assert [record for record in caplog.records if record.exc_info] == []
    trace_service_pb2_grpc.TraceServiceStub(channel).Export(genai_trace_request(1), timeout=10)
    assert len(recording_store.spans()) == 3


def _retry_delay(error: grpc.RpcError) -> float:
    trailers = dict(error.trailing_metadata() or ())
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    info = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(info)
    plain = error_details_pb2.RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"])
    assert plain == info
    return info.retry_delay.seconds + info.retry_delay.nanos / 1e9


def test_busy_store_gives_resource_exhausted_with_retry_info(
    channel: grpc.Channel, recording_store: RecordingStore
) -> None:
    recording_store.busy_retry_after = 1.5
    with pytest.raises(grpc.RpcError) as caught:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(genai_trace_request(1), timeout=10)
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _retry_delay(caught.value) == pytest.approx(1.5)
    recording_store.busy_retry_after = None
    trace_service_pb2_grpc.TraceServiceStub(channel).Export(genai_trace_request(1), timeout=10)
    assert len(recording_store.spans()) == 3


def test_shutting_down_gives_unavailable_with_retry_info(
    channel: grpc.Channel, recording_collector: CollectorServer
) -> None:
    recording_collector.pipeline.close()
    with pytest.raises(grpc.RpcError) as caught:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(genai_trace_request(1), timeout=10)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert _retry_delay(caught.value) == pytest.approx(1.0)


def test_message_over_the_limit_is_refused(start_collector, recording_store: RecordingStore) -> None:  # type: ignore[no-untyped-def]
    server = start_collector(store=recording_store, max_body_bytes=50_000)
    big = genai_trace_request(30)
    assert big.ByteSize() > 50_000
    # Gzipped it is far below the limit, so refusing it proves the limit applies after inflating.
    assert len(gzip.compress(big.SerializeToString())) < 50_000
    with grpc.insecure_channel(server.grpc_endpoint) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        for compression in (grpc.Compression.NoCompression, grpc.Compression.Gzip):
            with pytest.raises(grpc.RpcError) as caught:
                stub.Export(big, timeout=10, compression=compression)
            assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        stub.Export(genai_trace_request(1), timeout=10)
    assert len(recording_store.spans()) == 3


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM line in /proc/<pid>/status")


def test_grpc_gzip_bomb_is_refused_without_inflating_it(tmp_path: Path) -> None:
    with CollectorProcess(tmp_path / "data", args=["--max-body-bytes", str(4 << 20)]) as collector:
        assert collector.grpc_endpoint is not None
        peak_before = _peak_rss_kib(collector.pid)
        # A length-delimited field claiming 128 MiB of zeros: 128 MiB inflated, ~130 KB gzipped.
        bomb = b"\x0a\x80\x80\x80\x40" + bytes(128 << 20)
        with grpc.insecure_channel(collector.grpc_endpoint, options=[("grpc.max_send_message_length", -1)]) as channel:
            export = channel.unary_unary(
                "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                request_serializer=lambda raw: raw,
                response_deserializer=lambda raw: raw,
            )
            with pytest.raises(grpc.RpcError) as caught:
                export(bomb, timeout=60, compression=grpc.Compression.Gzip)
            assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            del bomb
            trace_service_pb2_grpc.TraceServiceStub(channel).Export(genai_trace_request(1), timeout=10)
        assert _peak_rss_kib(collector.pid) - peak_before < 64 * 1024
