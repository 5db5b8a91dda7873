"""examples/feedback_backend.py end to end: a real collector, the backend in its own process.

The backend answers with a trace id; the thumbs-down posted for that trace reaches the
collector over OTLP and shows up in ``search_traces`` with the end user as its HUMAN source.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "otel_feedback"))

from collector_session import wait_for  # noqa: E402

from otel_feedback_collector.server import CollectorServer  # noqa: E402
from otel_feedback import search_traces  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "feedback_backend.py"
READY_PREFIX = "feedback backend ready: "


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorServer]:
    with CollectorServer(tmp_path / "data", port=0, grpc_port=None, flush_interval=0.2) as server:
        yield server


@pytest.fixture
def backend(collector: CollectorServer) -> Iterator[str]:
    """The example running in a subprocess on a free port; yields its base URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    env["OTEL_BSP_SCHEDULE_DELAY"] = "100"  # export spans quickly (the standard OTel variable)
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--port", "0", "--collector", collector.http_url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    ready: dict[str, str] = {}
    found = threading.Event()

    def read_ready_line() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(READY_PREFIX):
                ready["url"] = line[len(READY_PREFIX):].strip()
                found.set()

    threading.Thread(target=read_ready_line, daemon=True).start()
    try:
        if not found.wait(30):
            process.kill()
            raise AssertionError(f"the backend did not start: {process.communicate()[1]}")
        yield ready["url"]
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_answer_then_thumbs_down_reaches_the_collector(backend: str, collector: CollectorServer):
    status, chat = post(f"{backend}/chat", {"question": "What is tracing?"})
    assert status == 200 and chat["answer"]
    trace_id = chat["trace_id"]
    assert len(trace_id) == 32

    status, vote = post(f"{backend}/feedback", {"trace_id": trace_id, "thumbs_up": False,
                                               "comment": "too vague", "user_id": "enduser_123"})
    assert status == 200 and vote["trace_id"] == trace_id

    def stored() -> list[dict[str, Any]]:
        return search_traces(data_dir=collector.data_dir, filter=f"trace_id = '{trace_id}' AND "
                             "assessments.user_feedback = false AND span_type = 'RETRIEVER'", return_type="list")

    (row,) = wait_for(stored, timeout=20, what="the trace and its feedback in the collector")
    assert row["request"] == {"question": "What is tracing?"}
    assert row["response"] == chat["answer"]
    assert row["experiment"] == "feedback-backend"
    sources = search_traces(sql=f"SELECT source_type, source_id, rationale FROM assessments WHERE trace_id = '{trace_id}'",
                            data_dir=collector.data_dir, return_type="list")
    assert sources == [{"source_type": "HUMAN", "source_id": "enduser_123", "rationale": "too vague"}]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/feedback", {"trace_id": "nope", "thumbs_up": False, "user_id": "u"}, "trace_id must be 32 hex"),
        ("/feedback", {"trace_id": "a" * 32, "thumbs_up": "no", "user_id": "u"}, "thumbs_up"),
        ("/feedback", {"trace_id": "a" * 32, "thumbs_up": True}, "user_id"),
        ("/chat", {"question": ""}, "question"),
    ],
)
def test_bad_requests_get_422_with_the_reason(backend: str, path: str, body: dict[str, Any], message: str):
    status, answer = post(f"{backend}{path}", body)
    assert status == 422
    assert message in answer["error"]
