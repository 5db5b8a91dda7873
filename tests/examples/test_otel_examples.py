"""The examples for existing OTel apps, other backends and plain SQL, run for real."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_feedback_collector.server import CollectorServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    clean.update(env)
    result = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True,
                            env=clean, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def trace_id_in(output: str) -> str:
    found = re.search(r"^trace id: ([0-9a-f]{32})$", output, re.MULTILINE)
    assert found, output
    return found.group(1)


def stored_spans(server: CollectorServer, trace_id: str, count: int) -> list[tuple[str, str]]:
    """(name, service) of the trace's spans, once ``count`` are stored (forwarding is asynchronous)."""
    deadline = time.monotonic() + 20
    while True:
        server.store.flush()
        rows = server.store.connect().execute(
            "SELECT name, service_name FROM spans WHERE trace_id = ? ORDER BY name", [trace_id]
        ).fetchall()
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorServer]:
    with CollectorServer(tmp_path / "data", port=0, grpc_port=None) as server:
        yield server


def test_existing_app_keeps_its_provider_and_our_spans_nest_under_its_own(collector: CollectorServer) -> None:
    result = run_example("existing_otel_app.py", "--collector", collector.http_url)
    assert "otel-feedback installed its own provider: False" in result.stdout
    trace_id = trace_id_in(result.stdout)
    collector.store.flush()
    connection = collector.store.connect()
    rows = connection.execute(
        "SELECT s.name, s.span_type, p.name, s.service_name FROM spans s LEFT JOIN spans p "
        "ON p.trace_id = s.trace_id AND p.span_id = s.parent_span_id WHERE s.trace_id = ? ORDER BY s.start_time",
        [trace_id],
    ).fetchall()
    assert rows == [
        ("POST /ask", "UNKNOWN", None, "existing-app"),
        ("handle", "UNKNOWN", "POST /ask", "existing-app"),
        ("search_docs", "RETRIEVER", "handle", "existing-app"),
        ("summarize", "LLM", "handle", "existing-app"),
    ]


def test_spans_go_to_any_otlp_endpoint_and_a_forwarding_collector_passes_them_on(tmp_path: Path) -> None:
    with CollectorServer(tmp_path / "backend", port=0, grpc_port=None) as backend, \
            CollectorServer(tmp_path / "ours", port=0, grpc_port=None, forward_url=backend.http_url) as ours:
        # The standard variable, as any OTel SDK reads it, pointed at our forwarding collector.
        result = run_example("send_to_another_backend.py", OTEL_EXPORTER_OTLP_ENDPOINT=ours.http_url)
        assert "exported: True" in result.stdout
        trace_id = trace_id_in(result.stdout)
        expected = [("agent", "weather-agent"), ("lookup_weather", "weather-agent")]
        assert stored_spans(ours, trace_id, len(expected)) == expected
        assert stored_spans(backend, trace_id, len(expected)) == expected  # the forwarded copy


def test_sql_over_parquet_with_plain_duckdb_and_polars(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    subprocess.run([sys.executable, "-m", "otel_feedback.cli", "demo", "--no-serve", "--data", str(data_dir),
                    "--port", "0", "--grpc-port", "0", "--until", "feedback"],
                   check=True, capture_output=True, env=env, timeout=120)
    result = run_example("sql_over_parquet.py", "--data", str(data_dir))
    assert re.search(r"^  CHAT_MODEL\s+4 ", result.stdout, re.MULTILINE)
    assert re.search(r"^  RETRIEVER\s+4 ", result.stdout, re.MULTILINE)
    assert len(re.findall(r"^  [0-9a-f]{32}  my_chatbot ", result.stdout, re.MULTILINE)) == 3
    assert re.search(r"^  user_feedback\s+HUMAN\s+1$", result.stdout, re.MULTILINE)


def test_sql_over_parquet_says_what_to_do_with_an_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"datasets": {}}')
    result = subprocess.run([sys.executable, str(EXAMPLES / "sql_over_parquet.py"), "--data", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "run `otel-feedback demo --no-serve" in result.stderr
