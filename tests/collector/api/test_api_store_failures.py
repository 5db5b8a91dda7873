"""A write the store cannot take is never dropped silently: 429 with Retry-After, or 500 logged."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from api_test_support import log_rows, preflight, send_trace
from otel_feedback_collector.server import CollectorProcess, CollectorServer
from otel_feedback_collector.storage import SpanStore


def test_store_busy_is_429_with_retry_after(start_collector: Callable[..., CollectorServer]) -> None:
    # Room for one small assessment, not for a 20 kB rationale beside it; no background flush
    # frees it during the test.
    server = start_collector(max_pending_bytes=8192, flush_interval=3600, pending_wait=0)
    sent = send_trace(server)
    small = httpx.post(f"{server.http_url}/api/v1/traces/{sent.trace_id}/assessments", json={"name": "x", "value": True})
    assert small.status_code == 201
    answer = httpx.post(
        f"{server.http_url}/api/v1/traces/{sent.trace_id}/assessments",
        json={"name": "x", "value": True, "rationale": "r" * 20_000},
    )
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "BUSY"
    assert int(answer.headers["retry-after"]) >= 1
    assert "retry" in answer.json()["error"]["message"].lower()
    assert [row["rationale"] for row in log_rows(server)] == [None]


def test_store_failure_is_500_with_a_message_and_a_log_line(
    start_collector: Callable[..., CollectorServer], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SpanStore(tmp_path / "own-store")
    store.open()
    try:
        server = start_collector(store=store)
        sent = send_trace(server)
        store.close()  # the store stops accepting writes; reads of the files still work
        with caplog.at_level(logging.ERROR, logger="otel_feedback_collector.api"):
            answer = httpx.post(
                f"{server.http_url}/api/v1/traces/{sent.trace_id}/assessments", json={"name": "x", "value": True}
            )
        assert answer.status_code == 500
        assert answer.json()["error"]["code"] == "INTERNAL"
        assert "could not store the assessment" in answer.json()["error"]["message"]
        assert any("Writing assessment" in record.getMessage() for record in caplog.records)
    finally:
        store.close()


def test_serve_reads_cors_origins_from_the_environment(tmp_path: Path) -> None:
    origin = "http://localhost:5173"
    with CollectorProcess(tmp_path / "data", env={"OTEL_FEEDBACK_CORS_ORIGINS": f"{origin}, https://b.example"}) as process:
        asked = preflight(f"{process.http_url}/api/v1/traces/{'a' * 32}/assessments", origin=origin)
        assert asked.status_code == 200
        assert asked.headers["access-control-allow-origin"] == origin


def test_serve_refuses_a_bad_cors_origin(tmp_path: Path) -> None:
    process = CollectorProcess(tmp_path / "data", args=["--cors-origin", "localhost:3000"], startup_timeout=20)
    with pytest.raises(RuntimeError, match="did not become ready"):
        process.start()
    assert process.process is not None and process.process.returncode == 2
