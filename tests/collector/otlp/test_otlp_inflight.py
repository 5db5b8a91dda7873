"""The in-flight memory budget: exports past it get 503 / UNAVAILABLE with a retry delay."""

from __future__ import annotations

import gc
import gzip
import threading
import weakref
from collections.abc import Callable, Iterator

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from otel_feedback_collector.otlp.body import inflate_bounded
from otel_feedback_collector.otlp.encoding import MessageEncoding
from otel_feedback_collector.otlp.errors import Backpressure, release_frames
from otel_feedback_collector.otlp.inflight import DECODE_FACTOR, InflightBudget
from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.server import CollectorServer
from otlp_recording_store import RecordingStore

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def test_a_claim_past_the_limit_is_refused_with_a_retry_delay() -> None:
    budget = InflightBudget(1000, retry_after=2.0)
    with budget.claim() as first:
        first.charge(600)
        with budget.claim() as second, pytest.raises(Backpressure) as refused:
            second.charge(500)
        assert refused.value.http_status == 503 and refused.value.retry_after == 2.0
        assert "--max-inflight-bytes" in refused.value.message
        assert budget.in_use == 600
        with budget.claim() as third:
            third.charge(400)
            assert budget.in_use == 1000
    assert budget.in_use == 0 and budget.high_water == 1000 and budget.refused == 1


def test_a_request_alone_is_admitted_even_when_larger_than_the_budget() -> None:
    budget = InflightBudget(1000)
    with budget.claim() as big:
        big.charge(800)
        big.charge(5000)  # alone: a body larger than the budget must still be servable
        with budget.claim() as other, pytest.raises(Backpressure):
            other.charge(1)
    assert budget.in_use == 0


def test_inflating_charges_every_inflated_byte() -> None:
    raw = bytes(range(256)) * 8000
    charged: list[int] = []
    assert inflate_bounded(gzip.compress(raw), "gzip", limit=len(raw), charge=charged.append) == raw
    assert sum(charged) == len(raw)


def test_released_frames_free_what_a_refused_export_held() -> None:
    class Decoded:
        """Stands in for a decoded request (upb messages are not visible to the gc heuristics)."""

    def store_write(request: Decoded) -> None:
        try:
            raise KeyError("store busy")
        except KeyError as exc:
            raise Backpressure("busy", retry_after=1.0) from exc

    def export() -> Decoded:
        request = Decoded()
        store_write(request)
        return request

    gc.disable()
    try:
        try:
            export()
        except Backpressure as exc:
            error = exc
        assert error.__traceback__ is not None
        probe = weakref.ref(error.__traceback__.tb_next.tb_frame.f_locals["request"])  # type: ignore[union-attr]
        release_frames(error)
        del error
        # The frame that raised inside `except` and the exception it caught form a cycle that
        # kept the request alive until a garbage collection; now it is gone at once.
        assert probe() is None
    finally:
        gc.enable()


def _cost(body: bytes) -> int:
    return len(body) * (1 + DECODE_FACTOR[MessageEncoding.PROTOBUF])


@pytest.fixture
def gated_store(recording_store: RecordingStore) -> Iterator[RecordingStore]:
    recording_store.gate = threading.Event()
    yield recording_store
    recording_store.gate.set()


def _retry_info(error: grpc.RpcError) -> error_details_pb2.RetryInfo:
    trailers = dict(error.trailing_metadata() or ())
    return error_details_pb2.RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"])


def test_exports_past_the_budget_get_503_or_unavailable_on_both_transports(
    start_collector: Callable[..., CollectorServer], gated_store: RecordingStore
) -> None:
    body = genai_trace_request(40).SerializeToString()
    budget = 2 * _cost(body) + _cost(body) // 2  # room for two such exports, not three
    server = start_collector(store=gated_store, max_inflight_bytes=budget)
    assert server.grpc_endpoint is not None
    answers: list[int] = []

    def send() -> None:
        answers.append(httpx.post(f"{server.http_url}/v1/traces", content=body, headers=PROTOBUF, timeout=30).status_code)

    holders = [threading.Thread(target=send) for _ in range(2)]
    for index, holder in enumerate(holders):
        holder.start()
        assert _wait(lambda index=index: server.inflight.in_use >= (index + 1) * _cost(body))  # type: ignore[misc]
    # Two exports wait at the store holding their bytes; a third is refused before it is read.
    refused = httpx.post(f"{server.http_url}/v1/traces", content=body, headers=PROTOBUF, timeout=30)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    with grpc.insecure_channel(server.grpc_endpoint) as channel, pytest.raises(grpc.RpcError) as caught:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(genai_trace_request(40), timeout=10)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert _retry_info(caught.value).retry_delay.seconds == 1
    assert server.inflight.high_water <= budget
    assert gated_store.gate is not None
    gated_store.gate.set()
    for holder in holders:
        holder.join(30)
    assert answers == [200, 200]
    assert server.inflight.in_use == 0
    with grpc.insecure_channel(server.grpc_endpoint) as channel:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(genai_trace_request(40), timeout=10)
    assert len(gated_store.spans()) == 3 * 40 * 3


def test_a_flood_of_large_exports_is_turned_away_instead_of_held(
    start_collector: Callable[..., CollectorServer],
) -> None:
    # A real store; 24 senders at once, each export about 1.3 MB of estimated memory against a
    # 4 MB budget. Before the budget every one of them was read and decoded at once.
    bodies = [genai_trace_request(100).SerializeToString() for _ in range(48)]  # fresh ids each
    budget = 4_000_000
    assert max(_cost(body) for body in bodies) < budget
    server = start_collector(grpc_port=None, max_inflight_bytes=budget)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def send(index: int) -> None:
        for body in bodies[2 * index : 2 * index + 2]:
            answer = httpx.post(f"{server.http_url}/v1/traces", content=body, headers=PROTOBUF, timeout=60)
            with lock:
                answers.append(answer)

    senders = [threading.Thread(target=send, args=(index,)) for index in range(24)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(120)
    statuses = [answer.status_code for answer in answers]
    assert len(statuses) == 48 and set(statuses) <= {200, 429, 503}
    assert all("Retry-After" in answer.headers for answer in answers if answer.status_code != 200)
    assert server.inflight.high_water <= budget
    assert server.inflight.in_use == 0
    server.store.flush()
    stored = server.store.connect().sql("select count(*) from spans").fetchall()[0][0]
    assert stored == 3 * 100 * statuses.count(200)


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
