"""Bounded fuzzing of every way in, then: storage still accepts, nothing set aside, clean restart.

A real ``otel-feedback serve`` process on loopback gets a few hundred mutated bodies (fixed
seed, so a failure replays): OTLP protobuf and OTLP/JSON over HTTP, gRPC exports (structured
and raw bytes), and REST assessment bodies, seeded with the values that once stopped storage
(2^64-1 times, infinities, NaN, huge integers, deep nesting, ids that are not hex, hostile
strings). No answer may be a server error, except 503/429 with Retry-After. Afterwards a normal
span must become queryable, no record may have been quarantined, SIGTERM must exit 0, and a
restart on the same directory must hold every span the collector acknowledged.
"""

from __future__ import annotations

import base64
import json
import math
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from otel_feedback_collector.server import CollectorProcess
from otel_feedback_collector.storage import connect

SEED = 20261130
CASES_PER_KIND = 40
TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
U64_MAX = 2**64 - 1
RETRYABLE = (429, 503)
# gRPC codes that mean "the server failed", the analogue of HTTP 5xx.
GRPC_SERVER_FAULTS = (grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS)

HOSTILE_STRINGS = (
    "", "\x00", "\u202e\u0645", "<script>alert(1)</script>", "'; DROP TABLE spans; --",
    "=cmd|' /C calc'!A0", "\x1b[31mred", "a" * 70_000, "😀" * 1000, "\r\n\r\n", "{" * 5000,
    "[" * 50_000, '{"a":' * 300 + "1" + "}" * 300, "NaN", "Infinity", "1e30", "-1",
    str(U64_MAX), "9" * 400, "null", "true",
)
HOSTILE_NUMBERS = (
    math.inf, -math.inf, math.nan, 0.0, -0.0, 1e308, -1e308, 5e-324, 2**63 - 1, -(2**63), 0, -1,
)
TOKEN_KEYS = (
    "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "llm.token_count.total",
    "llm.token_count.prompt", "gen_ai.usage.prompt_tokens",
)
TEXT_KEYS = (
    "input.value", "output.value", "mlflow.spanInputs", "mlflow.spanType", "mlflow.chat.tokenUsage",
    "langfuse.observation.usage_details", "otel_feedback.span_type", "session.id", "gen_ai.prompt.0.content",
    "otel_feedback.assessment.value", "otel_feedback.assessment.metadata",
)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def collector(data_dir: Path) -> Iterator[CollectorProcess]:
    process = CollectorProcess(data_dir)
    process.start()
    try:
        yield process
    finally:
        process.kill()


class Fuzzer:
    """Builds mutated requests from one seeded random generator; remembers good spans acked."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.acknowledged: list[tuple[str, str]] = []  # (trace_id, span_id) of sentinels acked
        self.sequence = 0

    def new_ids(self) -> tuple[bytes, bytes]:
        self.sequence += 1
        return self.rng.randbytes(15) + bytes([1]), self.sequence.to_bytes(8, "big")

    # -- values ---------------------------------------------------------------------------

    def hostile_value(self, depth: int = 0) -> AnyValue:
        choice = self.rng.randrange(7 if depth < 3 else 4)
        value = AnyValue()
        if choice == 0:
            value.string_value = self.rng.choice(HOSTILE_STRINGS)
        elif choice == 1:
            value.double_value = self.rng.choice(HOSTILE_NUMBERS)
        elif choice == 2:
            value.int_value = self.rng.choice((2**63 - 1, -(2**63), -1, 0, 7))
        elif choice == 3:
            value.bytes_value = self.rng.randbytes(self.rng.randrange(0, 40))
        elif choice == 4:
            value.array_value.values.extend(self.hostile_value(depth + 1) for _ in range(self.rng.randrange(3)))
        elif choice == 5:
            for _ in range(self.rng.randrange(3)):
                value.kvlist_value.values.add(key=self.rng.choice(TEXT_KEYS), value=self.hostile_value(depth + 1))
        else:
            value.bool_value = self.rng.random() < 0.5
        return value

    def hostile_attributes(self) -> list[KeyValue]:
        keys = self.rng.sample(TOKEN_KEYS + TEXT_KEYS, self.rng.randrange(1, 6))
        return [KeyValue(key=key, value=self.hostile_value()) for key in keys]

    def hostile_time(self) -> int:
        return self.rng.choice((U64_MAX, 2**63, 2**63 - 1, 0, 1, time.time_ns()))

    # -- requests -------------------------------------------------------------------------

    def traces_request(self, *, sentinel: bool) -> tuple[ExportTraceServiceRequest, tuple[str, str] | None]:
        """A request of hostile (but id-valid) spans, plus one plain sentinel span."""
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(self.hostile_attributes())
        spans = resource_spans.scope_spans.add().spans
        for _ in range(self.rng.randrange(1, 4)):
            trace_id, span_id = self.new_ids()
            span = spans.add(trace_id=trace_id, span_id=span_id, name=self.rng.choice(HOSTILE_STRINGS)[:200])
            span.start_time_unix_nano = self.hostile_time()
            span.end_time_unix_nano = self.hostile_time()
            span.kind = self.rng.randrange(0, 9)
            span.status.code = self.rng.randrange(0, 5)
            span.attributes.extend(self.hostile_attributes())
            event = span.events.add(name=self.rng.choice(("gen_ai.evaluation.result", "exception", "")))
            event.time_unix_nano = self.hostile_time()
            event.attributes.add(key="gen_ai.evaluation.name").value.string_value = "fuzz"
            event.attributes.extend(self.hostile_attributes())
            link_trace, link_span = self.new_ids()
            link = span.links.add(trace_id=link_trace, span_id=link_span)
            link.attributes.extend(self.hostile_attributes())
        kept = None
        if sentinel:
            trace_id, span_id = self.new_ids()
            spans.add(trace_id=trace_id, span_id=span_id, name="sentinel",
                      start_time_unix_nano=time.time_ns(), end_time_unix_nano=time.time_ns() + 1000)
            kept = (trace_id.hex(), span_id.hex())
        return request, kept

    def logs_request(self) -> ExportLogsServiceRequest:
        request = ExportLogsServiceRequest()
        records = request.resource_logs.add().scope_logs.add().log_records
        for _ in range(self.rng.randrange(1, 3)):
            trace_id, span_id = self.new_ids()
            record = records.add(trace_id=trace_id, span_id=span_id, event_name="gen_ai.evaluation.result")
            record.time_unix_nano = self.hostile_time()
            record.observed_time_unix_nano = self.hostile_time()
            record.body.CopyFrom(self.hostile_value())
            record.attributes.add(key="gen_ai.evaluation.name").value.string_value = "fuzz"
            record.attributes.extend(self.hostile_attributes())
        return request

    def mutated_bytes(self, body: bytes) -> bytes:
        data = bytearray(body)
        for _ in range(self.rng.randrange(1, 6)):
            if not data:
                break
            operation = self.rng.randrange(4)
            position = self.rng.randrange(len(data))
            if operation == 0:
                data[position] = self.rng.randrange(256)
            elif operation == 1:
                del data[position : position + self.rng.randrange(1, 16)]
            elif operation == 2:
                data[position:position] = self.rng.randbytes(self.rng.randrange(1, 16))
            else:
                data = data[:position]
        return bytes(data)

    def json_traces(self) -> tuple[dict[str, Any], tuple[str, str] | None]:
        """An OTLP/JSON body with hostile ids, times and values, plus one plain sentinel."""
        spans = []
        for _ in range(self.rng.randrange(1, 4)):
            trace_id, span_id = self.new_ids()
            span: dict[str, Any] = {
                "traceId": self.rng.choice((trace_id.hex(), trace_id.hex().upper(), base64.b64encode(trace_id).decode(),
                                            trace_id.hex()[:-1], "", "zz" * 16, 12345)),
                "spanId": self.rng.choice((span_id.hex(), span_id.hex()[:-1], base64.b64encode(span_id).decode())),
                "parentSpanId": self.rng.choice(("", span_id.hex(), "abc", None)),
                "name": self.rng.choice(HOSTILE_STRINGS)[:100] + self.rarely(("\ud800", "\udfff"), ""),
                "startTimeUnixNano": self.rarely(
                    (str(2**64), "-1", "1e30", 1.5, "x"), self.rng.choice((str(U64_MAX), U64_MAX, "0", 0))
                ),
                "endTimeUnixNano": self.rng.choice((str(U64_MAX), "0", str(time.time_ns()))),
                "attributes": [
                    {"key": key, "value": self.json_value()} for key in self.rng.sample(TOKEN_KEYS + TEXT_KEYS, 3)
                ],
                "links": [{"traceId": self.rng.choice((trace_id.hex(), "nothex")), "spanId": span_id.hex()}],
            }
            spans.append(span)
        trace_id, span_id = self.new_ids()
        spans.append({"traceId": trace_id.hex(), "spanId": span_id.hex(), "name": "sentinel",
                      "startTimeUnixNano": str(time.time_ns()), "endTimeUnixNano": str(time.time_ns() + 1000)})
        return {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}, (trace_id.hex(), span_id.hex())

    def rarely(self, malformed: tuple[Any, ...], otherwise: Any) -> Any:
        """Mostly ``otherwise`` (stored), one time in ten something that makes the request malformed."""
        return self.rng.choice(malformed) if self.rng.random() < 0.1 else otherwise

    def json_value(self) -> Any:
        extreme = self.rng.choice(
            (
                {"stringValue": self.rng.choice(HOSTILE_STRINGS)},
                {"doubleValue": self.rng.choice(("Infinity", "-Infinity", "NaN", 1e308, "1e400", -0.0))},
                {"intValue": self.rng.choice((str(2**63 - 1), str(-(2**63)), "-1", 2**63 - 1))},
                {"bytesValue": self.rng.choice(("AAEC", ""))},
                {"kvlistValue": {"values": [{"key": "k", "value": {"arrayValue": {"values": [{"doubleValue": "NaN"}]}}}]}},
                {"arrayValue": {"values": [{"stringValue": "[" * 20_000}, {}]}},
                {},
            )
        )
        return self.rarely(
            (
                {"intValue": str(U64_MAX)}, {"intValue": "9" * 400}, {"intValue": "1.5"},
                {"bytesValue": "not base64!"}, {"arrayValue": {"values": "oops"}}, {"boolValue": "yes"},
            ),
            extreme,
        )

    def assessment_body(self) -> bytes:
        value = self.rng.choice(
            (
                10**400, -(10**400), 2**64, 1e308, "Infinity", "x" * 10_000, None, [], {}, [[[[1]]]],
                {"nested": [{"a": self.rng.choice(HOSTILE_STRINGS)}]}, True, self.rng.choice(HOSTILE_STRINGS),
            )
        )
        body: dict[str, Any] = {"name": self.rarely(("", "x" * 300, "\x00", 5), "score"), "value": value}
        for key, options in (
            ("type", ("feedback", "expectation", "other", 3)),
            ("rationale", ("why", 5, "\x1b[2J", "r" * 5000)),
            ("metadata", ({"k": 10**400}, {"k": [1e308]}, "meta", {"": None})),
            ("source", ({"source_type": "HUMAN", "source_id": "u"}, {"source_type": "ROBOT"}, "me")),
            ("span_id", ("0123456789abcdef", "zz", "")),
        ):
            if self.rng.random() < 0.2:
                body[key] = self.rng.choice(options)
        text = json.dumps(body)
        choice = self.rng.randrange(10)
        if choice == 0:
            text = text.replace('"value": ', '"value": ' + "[" * 3000, 1)
        elif choice == 1:
            text = text.replace('"value": ', '"value": 1e400, "x": ', 1)
        elif choice == 2:
            return self.mutated_bytes(text.encode())
        return text.encode()


def _check_http(response: httpx.Response, what: str) -> None:
    status = response.status_code
    if status in RETRYABLE:
        assert "retry-after" in response.headers, f"{what}: {status} without Retry-After"
        return
    assert status < 500, f"{what}: {status} {response.text[:300]}"


def _acknowledged_sentinel(response: httpx.Response, kept: tuple[str, str] | None) -> tuple[str, str] | None:
    """The sentinel's ids when the collector stored the request (200), else None."""
    return kept if response.status_code == 200 and kept is not None else None


def _wait_for_trace(base_url: str, trace_id: str) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        response = httpx.get(f"{base_url}/api/v1/traces/{trace_id}", timeout=30)
        if response.status_code != 404 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_fuzzed_ingest_never_fails_storage_or_restart(collector: CollectorProcess, data_dir: Path) -> None:
    fuzzer = Fuzzer(random.Random(SEED))
    base = collector.http_url
    protobuf = {"Content-Type": "application/x-protobuf"}
    assert collector.grpc_endpoint is not None
    with httpx.Client(base_url=base, timeout=60) as http, grpc.insecure_channel(collector.grpc_endpoint) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        raw_export = channel.unary_unary(TRACE_EXPORT)  # bytes in, bytes out: no client-side checks
        for case in range(CASES_PER_KIND):
            # OTLP protobuf over HTTP: hostile values (kept) and then mangled bytes.
            request, kept = fuzzer.traces_request(sentinel=True)
            response = http.post("/v1/traces", content=request.SerializeToString(), headers=protobuf)
            _check_http(response, f"protobuf case {case}")
            if (acked := _acknowledged_sentinel(response, kept)) is not None:
                fuzzer.acknowledged.append(acked)
            mangled = fuzzer.mutated_bytes(request.SerializeToString())
            _check_http(http.post("/v1/traces", content=mangled, headers=protobuf), f"mangled protobuf case {case}")
            logs = fuzzer.logs_request().SerializeToString()
            _check_http(http.post("/v1/logs", content=logs, headers=protobuf), f"logs case {case}")

            # OTLP/JSON: odd ids reject only their spans; the sentinel is stored.
            body, kept = fuzzer.json_traces()
            text = json.dumps(body)
            response = http.post("/v1/traces", content=text, headers={"Content-Type": "application/json"})
            _check_http(response, f"json case {case}")
            if (acked := _acknowledged_sentinel(response, kept)) is not None:
                fuzzer.acknowledged.append(acked)
            mangled = fuzzer.mutated_bytes(text.encode())
            response = http.post("/v1/traces", content=mangled, headers={"Content-Type": "application/json"})
            _check_http(response, f"mangled json case {case}")

            # gRPC: a structured hostile export (sentinel acknowledged when OK) and raw bytes.
            request, kept = fuzzer.traces_request(sentinel=True)
            try:
                stub.Export(request, timeout=30)
            except grpc.RpcError as error:
                assert error.code() not in GRPC_SERVER_FAULTS + (grpc.StatusCode.INTERNAL,), error
            else:
                assert kept is not None
                fuzzer.acknowledged.append(kept)
            try:
                raw_export(fuzzer.mutated_bytes(request.SerializeToString()), timeout=30)
            except grpc.RpcError as error:
                # Undecodable bytes: INVALID_ARGUMENT per the OTLP spec, never INTERNAL.
                assert error.code() not in GRPC_SERVER_FAULTS + (grpc.StatusCode.INTERNAL,), error

            # REST assessments on an acknowledged trace.
            if fuzzer.acknowledged:
                trace_id = fuzzer.acknowledged[-1][0]
                response = http.post(
                    f"/api/v1/traces/{trace_id}/assessments",
                    content=fuzzer.assessment_body(),
                    headers={"Content-Type": "application/json"},
                )
                _check_http(response, f"assessment case {case}")

        assert len(fuzzer.acknowledged) >= CASES_PER_KIND  # the fuzzing did not just get refused
        # Storage still accepts and stores a normal span, and nothing was set aside.
        request, kept = Fuzzer(random.Random(1)).traces_request(sentinel=True)
        del request.resource_spans[0].scope_spans[0].spans[:-1]
        assert http.post("/v1/traces", content=request.SerializeToString(), headers=protobuf).status_code == 200
        assert kept is not None
        normal = _wait_for_trace(base, kept[0])
        assert normal.status_code == 200, normal.text
        fuzzer.acknowledged.append(kept)
        health = http.get("/healthz")
        assert health.headers["X-Quarantined-Records"] == "0", health.text
        # Every read over the fuzzed data still answers.
        listing = http.get("/api/v1/traces", params={"max_results": 1000})
        assert listing.status_code == 200, listing.text
        for trace in listing.json()["traces"][:: max(1, len(listing.json()["traces"]) // 25)]:
            detail = http.get(f"/api/v1/traces/{trace['trace_id']}")
            assert detail.status_code == 200, detail.text
        found = http.post("/api/v1/traces/search", json={"max_results": 1000, "order_by": ["total_tokens DESC"]})
        assert found.status_code == 200, found.text
        assert http.get("/").status_code == 200

    assert collector.stop() == 0
    restarted = CollectorProcess(data_dir)
    restarted.start()
    try:
        assert httpx.get(f"{restarted.http_url}/healthz", timeout=30).headers["X-Quarantined-Records"] == "0"
    finally:
        assert restarted.stop() == 0
    connection = connect(data_dir)
    try:
        stored = set(connection.execute("SELECT trace_id, span_id FROM spans").fetchall())
    finally:
        connection.close()
    missing = [ids for ids in fuzzer.acknowledged if ids not in stored]
    assert missing == [], f"{len(missing)} acknowledged spans missing after restart"
