"""A collector killed with SIGKILL mid-load keeps every span it acknowledged, and no duplicates."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.server import CollectorProcess, CollectorServer
from otel_feedback_collector.storage import SpanStore, connect

PROTOBUF = {"Content-Type": "application/x-protobuf"}
SENDERS = 3


class AckCountingSender(threading.Thread):
    """Sends batches until the collector stops answering; remembers the span ids of every 200."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self._url = url
        self.acked_span_ids: set[str] = set()
        self.acked_bodies: list[bytes] = []
        self.acks = 0

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while True:
                request = genai_trace_request(20)
                body = request.SerializeToString()
                try:
                    response = client.post(self._url, content=body, headers=PROTOBUF)
                except httpx.HTTPError:
                    return
                if response.status_code != 200:
                    continue
                spans = request.resource_spans[0].scope_spans[0].spans
                self.acked_span_ids.update(span.span_id.hex() for span in spans)
                self.acked_bodies.append(body)
                self.acks += 1


def load_until_acks(collector: CollectorProcess, acks: int) -> list[AckCountingSender]:
    """Start the senders and return once the collector acknowledged ``acks`` batches."""
    senders = [AckCountingSender(f"{collector.http_url}/v1/traces") for _ in range(SENDERS)]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 60
    while sum(sender.acks for sender in senders) < acks:
        assert time.monotonic() < deadline, "the collector acknowledged too few batches"
        time.sleep(0.01)
    return senders


def acknowledged_span_ids(senders: list[AckCountingSender]) -> set[str]:
    """Wait for the senders to give up (the collector is gone) and union what they saw acked."""
    for sender in senders:
        sender.join(30)
        assert not sender.is_alive()
    return set().union(*(sender.acked_span_ids for sender in senders))


def test_sigterm_under_load_flushes_every_acknowledged_span(tmp_path: Path) -> None:
    collector = CollectorProcess(tmp_path / "data")
    collector.start()
    try:
        senders = load_until_acks(collector, 20)
    finally:
        exit_code = collector.stop()
    assert exit_code == 0
    acked = acknowledged_span_ids(senders)
    # connect() reads only the published Parquet files, not the write-ahead log.
    stored = {row[0] for row in connect(tmp_path / "data").sql("select span_id from spans").fetchall()}
    assert acked <= stored


def test_sigkill_mid_load_loses_no_acknowledged_span(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    collector = CollectorProcess(data_dir)
    collector.start()
    try:
        senders = load_until_acks(collector, 30)
    finally:
        collector.kill()
    acked = acknowledged_span_ids(senders)
    assert len(acked) >= 30 * 60

    with SpanStore(data_dir) as store:
        store.flush()
        stored = {row[0] for row in store.connect().sql("select span_id from spans").fetchall()}
    missing = acked - stored
    assert not missing, f"{len(missing)} acknowledged spans were lost"

    # The sender's retry of an acknowledged batch must not create a second copy.
    with CollectorServer(data_dir, port=0, grpc_port=None) as server:
        resent = senders[0].acked_bodies[0]
        assert httpx.post(f"{server.http_url}/v1/traces", content=resent, headers=PROTOBUF).status_code == 200
        server.store.flush()
        total, distinct = server.store.connect().sql("select count(*), count(distinct span_id) from spans").fetchall()[0]
    assert total == distinct
    assert distinct >= len(acked)
