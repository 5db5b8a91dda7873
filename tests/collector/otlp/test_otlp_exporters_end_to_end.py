"""The real OTLP exporters send to a collector with a real SpanStore; SQL sees exactly what was sent."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.server import CollectorServer
from otel_feedback_collector.storage import SpanStore

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def emit_trace(exporter: SpanExporter, service: str) -> list[ReadableSpan]:
    """Emit a CHAIN root with an LLM child through ``exporter``; return the spans as the SDK saw them."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("e2e")
    with tracer.start_as_current_span("answer", attributes={"openinference.span.kind": "CHAIN", "input.value": "q?"}):
        with tracer.start_as_current_span(
            "chat", kind=SpanKind.CLIENT, attributes={"gen_ai.request.model": "gpt-x", "gen_ai.usage.input_tokens": 7}
        ) as llm:
            llm.set_attribute("output.value", "an answer")
            llm.set_status(Status(StatusCode.ERROR, "rate limited"))
    provider.shutdown()
    return list(memory.get_finished_spans())


def stored_spans(server: CollectorServer, trace_id: str) -> list[dict[str, Any]]:
    server.store.flush()
    relation = server.store.connect().sql(
        "select trace_id, span_id, parent_span_id, name, service_name, attributes, status_code "
        f"from spans where trace_id = '{trace_id}' order by start_time_unix_nano"
    )
    return [dict(zip(relation.columns, row)) for row in relation.fetchall()]


def assert_sql_sees(server: CollectorServer, sent: list[ReadableSpan], service: str) -> None:
    root = next(s for s in sent if s.parent is None)
    child = next(s for s in sent if s.parent is not None)
    trace_id = f"{root.context.trace_id:032x}"
    rows = stored_spans(server, trace_id)
    assert [row["name"] for row in rows] == ["answer", "chat"]
    assert [row["span_id"] for row in rows] == [f"{root.context.span_id:016x}", f"{child.context.span_id:016x}"]
    assert rows[0]["parent_span_id"] in (None, "")
    assert rows[1]["parent_span_id"] == f"{root.context.span_id:016x}"
    assert {row["service_name"] for row in rows} == {service}
    attributes = json.loads(rows[1]["attributes"])
    assert attributes["gen_ai.request.model"] == "gpt-x"
    assert attributes["gen_ai.usage.input_tokens"] == 7
    assert attributes["output.value"] == "an answer"
    assert json.loads(rows[0]["attributes"])["input.value"] == "q?"


@pytest.fixture
def collector(start_collector: Callable[..., CollectorServer]) -> CollectorServer:
    return start_collector()


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_http_protobuf_exporter(collector: CollectorServer, compression: Compression) -> None:
    exporter = HttpSpanExporter(endpoint=f"{collector.http_url}/v1/traces", compression=compression)
    sent = emit_trace(exporter, "http-service")
    assert_sql_sees(collector, sent, "http-service")


def test_grpc_exporter(collector: CollectorServer) -> None:
    exporter = GrpcSpanExporter(endpoint=collector.grpc_endpoint, insecure=True)
    sent = emit_trace(exporter, "grpc-service")
    assert_sql_sees(collector, sent, "grpc-service")


class OtlpJsonExporter(SpanExporter):
    """The SDK has no OTLP JSON exporter; this one follows the spec's JSON encoding (hex ids)."""

    def __init__(self, endpoint: str) -> None:
        self._endpoint = endpoint

    def export(self, spans: Any) -> SpanExportResult:
        document = json_format.MessageToDict(encode_spans(spans))
        _ids_to_hex(document)
        response = httpx.post(self._endpoint, content=json.dumps(document), headers={"Content-Type": "application/json"})
        return SpanExportResult.SUCCESS if response.status_code == 200 else SpanExportResult.FAILURE


def _ids_to_hex(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId"):
                node[key] = base64.b64decode(value).hex()
            else:
                _ids_to_hex(value)
    elif isinstance(node, list):
        for item in node:
            _ids_to_hex(item)


def test_http_json(collector: CollectorServer) -> None:
    sent = emit_trace(OtlpJsonExporter(f"{collector.http_url}/v1/traces"), "json-service")
    assert_sql_sees(collector, sent, "json-service")


def test_a_batch_sent_twice_is_stored_once(collector: CollectorServer) -> None:
    request = genai_trace_request(10)
    body = request.SerializeToString()
    for _ in range(2):
        assert httpx.post(f"{collector.http_url}/v1/traces", content=body, headers=PROTOBUF).status_code == 200
    collector.store.flush()
    count = collector.store.connect().sql("select count(*), count(distinct span_id) from spans").fetchall()[0]
    assert count == (30, 30)


def test_partial_success_keeps_the_valid_spans_in_sql(collector: CollectorServer) -> None:
    request = genai_trace_request(2)
    spans = request.resource_spans[0].scope_spans[0].spans
    spans[0].trace_id = bytes(16)
    kept = {s.span_id.hex() for s in spans[1:]}
    response = httpx.post(f"{collector.http_url}/v1/traces", content=request.SerializeToString(), headers=PROTOBUF)
    assert response.status_code == 200
    collector.store.flush()
    assert {row[0] for row in collector.store.connect().sql("select span_id from spans").fetchall()} == kept


def test_full_store_gets_429_and_the_collector_recovers(
    start_collector: Callable[..., CollectorServer], tmp_path: Path
) -> None:
    # No background flush here: the test decides when the waiting bytes reach Parquet.
    store = SpanStore(tmp_path / "tiny", max_pending_bytes=2_000, flush_interval=60, pending_wait=0)
    store.open()
    try:
        server = start_collector(store=store)
        small = genai_trace_request(1)
        small.resource_spans[0].scope_spans[0].spans[0].ClearField("attributes")
        del small.resource_spans[0].scope_spans[0].spans[1:]
        response = httpx.post(f"{server.http_url}/v1/traces", content=small.SerializeToString(), headers=PROTOBUF)
        assert response.status_code == 200
        big_request = genai_trace_request(5)
        big = big_request.SerializeToString()
        response = httpx.post(f"{server.http_url}/v1/traces", content=big, headers=PROTOBUF)
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1
        store.flush()  # the writer caught up: the same export is taken now
        response = httpx.post(f"{server.http_url}/v1/traces", content=big, headers=PROTOBUF)
        assert response.status_code == 200
        store.flush()
        big_spans = sum(len(scope.spans) for rs in big_request.resource_spans for scope in rs.scope_spans)
        assert store.connect().sql("select count(*) from spans").fetchall()[0] == (1 + big_spans,)
    finally:
        store.close()


def test_evaluation_log_records_become_assessments(collector: CollectorServer) -> None:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    request = ExportLogsServiceRequest()
    records = request.resource_logs.add().scope_logs.add().log_records
    record = records.add(trace_id=bytes.fromhex("ab" * 16), span_id=bytes.fromhex("cd" * 8), time_unix_nano=1)
    record.event_name = "gen_ai.evaluation.result"
    for key, value in (
        ("gen_ai.evaluation.name", AnyValue(string_value="user_feedback")),
        ("gen_ai.evaluation.score.label", AnyValue(string_value="false")),
        ("gen_ai.evaluation.explanation", AnyValue(string_value="wrong city")),
    ):
        record.attributes.append(KeyValue(key=key, value=value))
    records.add(body=AnyValue(string_value="an ordinary log line"))
    response = httpx.post(f"{collector.http_url}/v1/logs", content=request.SerializeToString(), headers=PROTOBUF)
    assert response.status_code == 200
    collector.store.flush()
    rows = collector.store.connect().sql("select trace_id, name, rationale from assessment_log").fetchall()
    assert rows == [("ab" * 16, "user_feedback", "wrong city")]
