"""A full disk under a running collector: every transport answers a retryable status, nothing
acknowledged is lost, stop and restart work while full, and writes resume once space returns."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.server import CollectorProcess, CollectorServer
from otel_feedback_collector.storage import SpanStore
from disk_faults import fill_disk

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def test_full_disk_answers_retryable_statuses_on_every_transport(
    mount_tmpfs: Callable[..., Path], start_collector: Callable[..., CollectorServer]
) -> None:
    disk = mount_tmpfs(size="8m")
    server = start_collector(data_dir=disk / "data", flush_interval=0.2)
    first = genai_trace_request(1)
    assert httpx.post(f"{server.http_url}/v1/traces", content=first.SerializeToString(), headers=PROTOBUF).status_code == 200
    server.store.flush()
    trace_id = first.resource_spans[0].scope_spans[0].spans[0].trace_id.hex()
    assessment = {"assessment_id": uuid.uuid4().hex, "name": "x", "value": True, "rationale": "r" * 10_000}
    assessments_url = f"{server.http_url}/api/v1/traces/{trace_id}/assessments"
    fill_disk(disk / "ballast")

    refused = httpx.post(f"{server.http_url}/v1/traces", content=genai_trace_request(5).SerializeToString(), headers=PROTOBUF)
    assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
    assert server.grpc_endpoint is not None
    with grpc.insecure_channel(server.grpc_endpoint) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            trace_service_pb2_grpc.TraceServiceStub(channel).Export(genai_trace_request(5), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    trailers = dict(caught.value.trailing_metadata() or ())
    assert error_details_pb2.RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"]).retry_delay.seconds >= 1
    rest = httpx.post(assessments_url, json=assessment, timeout=30)
    assert rest.status_code == 503, rest.text  # before: 500
    assert int(rest.headers["retry-after"]) >= 1 and rest.json()["error"]["code"] == "BUSY"
    assert "disk space" in rest.json()["error"]["message"]

    (disk / "ballast").unlink()  # space returns: the same requests succeed, without a restart
    assert httpx.post(f"{server.http_url}/v1/traces", content=genai_trace_request(5).SerializeToString(), headers=PROTOBUF).status_code == 200
    with grpc.insecure_channel(server.grpc_endpoint) as channel:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(genai_trace_request(5), timeout=10)
    assert httpx.post(assessments_url, json=assessment, timeout=30).status_code == 201
    server.store.flush()
    assert server.store.connect().execute("SELECT count(*) FROM assessment_log").fetchone() == (1,)


class RetryingSender(threading.Thread):
    """Exports batches over OTLP/HTTP like a real exporter: a 503 is retried (after 0.2 s, not
    the full Retry-After, to keep the test short); remembers the span ids of every 200."""

    def __init__(self, url: str, stop: threading.Event, deadline: float) -> None:
        super().__init__(daemon=True)
        self._url = url
        self._finish = stop
        self._deadline = deadline
        self.acked_span_ids: set[str] = set()
        self.acks = 0
        self.refusals = 0
        self.unexpected: list[str] = []

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._finish.is_set() and time.monotonic() < self._deadline:
                request = genai_trace_request(10)
                body = request.SerializeToString()
                while time.monotonic() < self._deadline:
                    response = client.post(self._url, content=body, headers=PROTOBUF)
                    if response.status_code == 200:
                        self.acks += 1
                        self.acked_span_ids.update(
                            span.span_id.hex()
                            for scope in request.resource_spans[0].scope_spans
                            for span in scope.spans
                        )
                        break
                    if response.status_code != 503 or "retry-after" not in response.headers:
                        self.unexpected.append(f"{response.status_code} {response.text[:200]}")
                    self.refusals += 1
                    time.sleep(0.2)


def wait_for(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_disk_fills_under_concurrent_senders_and_every_acknowledged_span_is_stored_once(
    mount_tmpfs: Callable[..., Path], tmp_path: Path
) -> None:
    disk = mount_tmpfs(size="8m")
    freed_first = disk / "ballast-1"
    freed_first.write_bytes(b"\0" * 2 * 1024 * 1024)
    freed_last = disk / "ballast-2"
    freed_last.write_bytes(b"\0" * 1024 * 1024)
    data_dir = disk / "data"
    log = open(tmp_path / "collector.log", "wb")
    collector = CollectorProcess(data_dir, log_file=log)
    collector.start()
    stop = threading.Event()
    senders = [
        RetryingSender(f"{collector.http_url}/v1/traces", stop, time.monotonic() + 180)
        for _ in range(4)
    ]
    try:
        for sender in senders:
            sender.start()
        wait_for(lambda: sum(s.refusals for s in senders) >= 20, seconds=90, what="the disk to fill")
        acks_while_full = sum(s.acks for s in senders)
        freed_first.unlink()
        wait_for(
            lambda: sum(s.acks for s in senders) >= acks_while_full + 20,
            seconds=60, what="writes to succeed again once space returned",
        )
    finally:
        stop.set()
        for sender in senders:
            sender.join(60)
        exit_code = collector.stop(timeout=60)
    assert exit_code == 0, (tmp_path / "collector.log").read_text()[-3000:]
    assert not any(sender.is_alive() for sender in senders)
    assert [u for s in senders for u in s.unexpected] == []
    acked = set().union(*(s.acked_span_ids for s in senders))
    assert len(acked) >= 20 * 30

    # Restart on the same directory, possibly still full: it starts and serves reads.
    with CollectorProcess(data_dir, log_file=log) as restarted:
        health = httpx.get(f"{restarted.http_url}/api/v1/traces", timeout=30)
        assert health.status_code == 200, health.text
        freed_last.unlink()
    log.close()

    with SpanStore(data_dir) as store:
        store.flush()
        total, distinct = store.connect().execute(
            "SELECT count(*), count(DISTINCT span_id) FROM spans"
        ).fetchone()
        stored = {row[0] for row in store.connect().execute("SELECT span_id FROM spans").fetchall()}
    missing = acked - stored
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged spans were lost"
    assert total == distinct
