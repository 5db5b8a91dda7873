"""Out-of-range values are stored (clamped, NULL or as text), never a reason to stop the writer.

Each case is a trigger that once was acknowledged and then failed the writer forever: the
collector is real (loopback HTTP and gRPC), the data directory real, and after the bad values
a normal span must still become queryable, and the collector must restart on the directory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from otel_feedback_collector.query.search import search_traces
from otel_feedback_collector.server import CollectorServer
from otel_feedback_collector.storage.otlp_values import to_json
from otel_feedback_collector.storage.value_bounds import (
    INT64_MAX,
    clamped_time_ns,
    finite_float,
    token_count,
    token_total,
)
from otlp_builders import logs_request, make_span, new_trace_id, traces_request

U64_MAX = 2**64 - 1
TRACE_HEX = "0123456789abcdef0123456789abcdef"


def _json_span(span_id: str, **fields: Any) -> dict[str, Any]:
    return {"traceId": TRACE_HEX, "spanId": span_id, "name": f"span-{span_id}", **fields}


def _post_json(server: CollectorServer, spans: list[dict[str, Any]]) -> httpx.Response:
    body = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    return httpx.post(f"{server.http_url}/v1/traces", json=body, timeout=30)


def _rows(server: CollectorServer, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    server.store.flush()
    connection = server.store.connect()
    try:
        return connection.execute(sql, params or []).fetchall()
    finally:
        connection.close()


def _restart(start: Callable[..., CollectorServer], server: CollectorServer, data_dir: Path) -> CollectorServer:
    server.stop()
    return start(data_dir=data_dir, grpc_port=None)


def test_the_bounds_rules() -> None:
    assert clamped_time_ns(U64_MAX) == INT64_MAX
    assert clamped_time_ns(-5) == 0
    assert clamped_time_ns(123) == 123
    assert token_count(7) == 7
    assert token_count("12") == 12
    assert token_count(3.9) == 3
    for bad in (math.inf, -math.inf, math.nan, "1e30", -1, 2**63, True, "many", None, [1]):
        assert token_count(bad) is None, bad
    assert token_total(INT64_MAX, 1) is None
    assert token_total(2, 3) == 5
    assert token_total(None, 3) is None
    assert finite_float(10**400) is None
    assert finite_float(math.nan) is None
    assert finite_float(True) == 1.0
    assert finite_float("1") is None


def test_to_json_writes_standard_json_for_every_value() -> None:
    text = to_json({"a": [math.inf, -math.inf, math.nan, 1.5], "big": 10**400})
    # The standard library's strict mode refuses the bare Infinity/NaN tokens.
    decoded = json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name} in {text}"))
    assert decoded == {"a": ["Infinity", "-Infinity", "NaN", 1.5], "big": 10**400}


def test_span_times_of_2_64_minus_1_are_clamped_over_json_and_protobuf(
    start_collector: Callable[..., CollectorServer], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    server = start_collector(data_dir=data_dir, grpc_port=None)
    response = _post_json(
        server,
        [_json_span("0123456789abcdef", startTimeUnixNano=str(U64_MAX), endTimeUnixNano=str(U64_MAX))],
    )
    assert response.status_code == 200, response.text
    trace_id = new_trace_id()
    span = make_span(trace_id=trace_id, name="proto-huge-time")
    span.start_time_unix_nano = U64_MAX
    span.end_time_unix_nano = U64_MAX
    response = httpx.post(
        f"{server.http_url}/v1/traces",
        content=traces_request([span]).SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
        timeout=30,
    )
    assert response.status_code == 200, response.text

    rows = _rows(
        server,
        "SELECT name, start_time_unix_nano, end_time_unix_nano, duration_ms, "
        "json_extract_string(attributes, '$.\"otel_feedback.original.start_time_unix_nano\"') "
        "FROM spans ORDER BY name",
    )
    assert rows == [
        ("proto-huge-time", INT64_MAX, INT64_MAX, None, str(U64_MAX)),
        ("span-0123456789abcdef", INT64_MAX, INT64_MAX, None, str(U64_MAX)),
    ]
    server = _restart(start_collector, server, data_dir)
    assert len(_rows(server, "SELECT * FROM spans")) == 2
    assert _rows(server, "SELECT count(*) FROM traces") == [(2,)]


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"gen_ai.usage.input_tokens": math.inf}, (None, None, None)),
        ({"gen_ai.usage.input_tokens": math.nan, "gen_ai.usage.output_tokens": 3}, (None, 3, None)),
        ({"gen_ai.usage.input_tokens": "1e30", "gen_ai.usage.output_tokens": 2}, (None, 2, None)),
        ({"gen_ai.usage.input_tokens": -4, "gen_ai.usage.output_tokens": 2}, (None, 2, None)),
        ({"gen_ai.usage.input_tokens": INT64_MAX, "gen_ai.usage.output_tokens": INT64_MAX}, (INT64_MAX, INT64_MAX, None)),
        ({"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5}, (10, 5, 15)),
    ],
)
def test_token_counts_out_of_range_are_null_and_the_raw_value_stays(
    start_collector: Callable[..., CollectorServer],
    attributes: dict[str, Any],
    expected: tuple[int | None, int | None, int | None],
) -> None:
    server = start_collector(grpc_port=None)
    span = make_span(trace_id=new_trace_id(), name="llm", attributes=attributes)
    response = httpx.post(
        f"{server.http_url}/v1/traces",
        content=traces_request([span]).SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    [(input_tokens, output_tokens, total_tokens, raw)] = _rows(
        server, "SELECT input_tokens, output_tokens, total_tokens, attributes FROM spans"
    )
    assert (input_tokens, output_tokens, total_tokens) == expected
    assert "gen_ai.usage.input_tokens" in json.loads(raw)
    # The traces view sums the counts too; it must answer, not overflow.
    assert len(_rows(server, "SELECT input_tokens, total_tokens FROM traces")) == 1


def test_token_sums_of_a_trace_saturate_instead_of_overflowing(
    start_collector: Callable[..., CollectorServer], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    server = start_collector(data_dir=data_dir, grpc_port=None)
    trace_id = new_trace_id()
    huge = {"gen_ai.usage.input_tokens": INT64_MAX, "gen_ai.usage.output_tokens": 1}
    for flush_round in range(2):
        # One span per flush and two in one flush: both the flush's summary and the
        # combination of summaries add int64-sized counts.
        spans = [make_span(trace_id=trace_id, name=f"llm-{flush_round}-{i}", attributes=huge) for i in range(2)]
        response = httpx.post(
            f"{server.http_url}/v1/traces",
            content=traces_request(spans).SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        server.store.flush()
    [(input_tokens,)] = _rows(server, "SELECT input_tokens FROM traces")
    assert input_tokens == INT64_MAX
    listing = httpx.get(f"{server.http_url}/api/v1/traces", timeout=30)
    assert listing.status_code == 200, listing.text
    found = httpx.post(f"{server.http_url}/api/v1/traces/search", json={}, timeout=30)
    assert found.status_code == 200, found.text
    connection = server.store.connect()
    try:
        table, _ = search_traces(connection)  # Arrow int64 columns: the sum must fit
    finally:
        connection.close()
    assert table.column("input_tokens").to_pylist() == [INT64_MAX]
    server.store.compact(full=True)
    server = _restart(start_collector, server, data_dir)
    assert _rows(server, "SELECT count(*) FROM spans") == [(4,)]


def test_rest_assessment_with_a_400_digit_integer_is_stored(
    start_collector: Callable[..., CollectorServer], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    server = start_collector(data_dir=data_dir, grpc_port=None)
    assert _post_json(server, [_json_span("0123456789abcdef")]).status_code == 200
    server.store.flush()
    huge = 10**400 - 1
    response = httpx.post(
        f"{server.http_url}/api/v1/traces/{TRACE_HEX}/assessments",
        content=json.dumps({"name": "score", "value": huge}),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    [(value, score)] = _rows(server, "SELECT value, score_value FROM assessment_log")
    assert json.loads(value) == huge
    assert score is None
    server = _restart(start_collector, server, data_dir)
    assert len(_rows(server, "SELECT * FROM assessment_log")) == 1


def test_log_record_assessment_with_time_2_64_minus_1_is_clamped(
    start_collector: Callable[..., CollectorServer], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    server = start_collector(data_dir=data_dir, grpc_port=None)
    request = logs_request(
        [
            {
                "trace_id": bytes.fromhex(TRACE_HEX),
                "event_name": "gen_ai.evaluation.result",
                "attributes": {"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": math.inf},
            }
        ]
    )
    request.resource_logs[0].scope_logs[0].log_records[0].time_unix_nano = U64_MAX
    response = httpx.post(
        f"{server.http_url}/v1/logs",
        content=request.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    [(created, value, score)] = _rows(
        server, "SELECT created_time_unix_nano, value, score_value FROM assessment_log"
    )
    assert (created, json.loads(value), score) == (INT64_MAX, "Infinity", None)
    server = _restart(start_collector, server, data_dir)
    assert len(_rows(server, "SELECT * FROM assessment_log")) == 1


def test_odd_values_in_events_links_and_nested_attributes_are_stored(
    start_collector: Callable[..., CollectorServer],
) -> None:
    server = start_collector()
    trace_id = new_trace_id()
    span = make_span(trace_id=trace_id, name="odd")
    event = span.events.add(name="gen_ai.evaluation.result", time_unix_nano=U64_MAX)
    event.attributes.add(key="gen_ai.evaluation.name").value.string_value = "quality"
    event.attributes.add(key="gen_ai.evaluation.score.value").value.double_value = math.nan
    event.attributes.add(key="blob").value.bytes_value = b"\x00\xff"
    link = span.links.add(trace_id=new_trace_id(), span_id=b"\x01" * 8)
    link.attributes.add(key="inf").value.double_value = -math.inf
    nested = span.attributes.add(key="nested").value
    inner = nested.kvlist_value.values.add(key="deeper").value
    inner.array_value.values.add().double_value = math.inf
    inner.array_value.values.add().kvlist_value.values.add(key="empty")
    span.attributes.add(key="bytes").value.bytes_value = b"\x80\x81"
    assert grpc_export(server, traces_request([span]))
    [(events, links, attributes)] = _rows(server, "SELECT events, links, attributes FROM spans")
    strict = {"parse_constant": lambda name: pytest.fail(f"bare {name}")}
    assert json.loads(events, **strict)[0]["attributes"]["gen_ai.evaluation.score.value"] == "NaN"
    assert json.loads(links, **strict)[0]["attributes"]["inf"] == "-Infinity"
    assert json.loads(attributes, **strict)["nested"] == {"deeper": ["Infinity", {"empty": None}]}
    [(created,)] = _rows(server, "SELECT created_time_unix_nano FROM assessment_log")
    assert created == INT64_MAX
    detail = httpx.get(f"{server.http_url}/api/v1/traces/{trace_id.hex()}", timeout=30)
    assert detail.status_code == 200, detail.text


def grpc_export(server: CollectorServer, request: Any) -> bool:
    """Export over real gRPC; True when the collector accepted every span."""
    assert server.grpc_endpoint is not None
    with grpc.insecure_channel(server.grpc_endpoint) as channel:
        response = trace_service_pb2_grpc.TraceServiceStub(channel).Export(request, timeout=30)
    return not response.partial_success.rejected_spans


def test_the_trace_page_shows_no_made_up_length_for_a_clamped_span(
    start_collector: Callable[..., CollectorServer],
) -> None:
    server = start_collector(grpc_port=None)
    response = _post_json(
        server,
        [
            _json_span("0123456789abcdef", startTimeUnixNano="1000000", endTimeUnixNano="3000000"),
            _json_span("1123456789abcdef", startTimeUnixNano="1000000", endTimeUnixNano=str(U64_MAX)),
        ],
    )
    assert response.status_code == 200, response.text
    server.store.flush()
    data = httpx.get(f"{server.http_url}/ui/api/traces/{TRACE_HEX}/spans", timeout=30).json()
    durations = {row[0]: row[data["columns"].index("duration_ms")] for row in data["spans"]}
    assert durations == {"0123456789abcdef": 2.0, "1123456789abcdef": None}
