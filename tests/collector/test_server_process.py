"""``otel-feedback serve`` as a process: ready line with real ports, graceful SIGTERM, errors."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.server import CollectorProcess
from otel_feedback_collector.storage import connect

PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
def processes() -> Iterator[list[CollectorProcess]]:
    started: list[CollectorProcess] = []
    yield started
    for process in started:
        process.kill()


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_ports_and_flushes_on_stop_signals(
    signal_number: int, tmp_path: Path, processes: list[CollectorProcess]
) -> None:
    collector = CollectorProcess(tmp_path / "data")
    processes.append(collector)
    collector.start()
    assert collector.http_url.startswith("http://127.0.0.1:") and not collector.http_url.endswith(":0")
    assert collector.grpc_endpoint is not None and collector.grpc_endpoint.startswith("127.0.0.1:")
    assert httpx.get(f"{collector.http_url}/healthz").text == "ok"
    request = genai_trace_request(4)
    response = httpx.post(f"{collector.http_url}/v1/traces", content=request.SerializeToString(), headers=PROTOBUF)
    assert response.status_code == 200
    assert collector.stop(signal_number=signal_number) == 0
    # connect() reads only published Parquet files: the graceful stop flushed them.
    assert connect(tmp_path / "data").sql("select count(*) from spans").fetchall() == [(12,)]


def test_token_from_the_environment(tmp_path: Path, processes: list[CollectorProcess]) -> None:
    collector = CollectorProcess(tmp_path / "data", env={"OTEL_FEEDBACK_TOKEN": "from-env"}, args=["--grpc-port", "-1"])
    processes.append(collector)
    collector.start()
    assert collector.grpc_endpoint is None
    body = genai_trace_request(1).SerializeToString()
    assert httpx.post(f"{collector.http_url}/v1/traces", content=body, headers=PROTOBUF).status_code == 401
    authorised = {**PROTOBUF, "Authorization": "Bearer from-env"}
    assert httpx.post(f"{collector.http_url}/v1/traces", content=body, headers=authorised).status_code == 200
    assert collector.stop() == 0


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "otel_feedback.cli", "serve", "--data", str(tmp_path / "d"), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"Could not bind the OTLP/HTTP port 127.0.0.1:{port}" in result.stderr
    assert "choose another --port" in result.stderr


def test_a_second_collector_on_the_same_data_dir_is_a_clear_error(
    tmp_path: Path, processes: list[CollectorProcess]
) -> None:
    first = CollectorProcess(tmp_path / "data")
    processes.append(first)
    first.start()
    result = subprocess.run(
        [sys.executable, "-m", "otel_feedback.cli", "serve", "--data", str(tmp_path / "data"), "--port", "0", "--grpc-port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Another collector is already writing" in result.stderr
    assert httpx.get(f"{first.http_url}/healthz").text == "ok"
