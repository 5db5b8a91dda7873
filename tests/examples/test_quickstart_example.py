"""examples/quickstart.py: the tutorial's code run for real against a collector on a free port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_feedback_collector.catalog import CatalogDatabase
from otel_feedback_collector.catalog.users import add_user
from otel_feedback_collector.server import CollectorServer
from otel_feedback_collector.storage import connect

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart.py"


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorServer]:
    data_dir = tmp_path / "data"
    with CollectorServer(data_dir, port=0, grpc_port=None) as server:
        add_user(CatalogDatabase(data_dir), "expert_1", password="expert-password")
        yield server


def run_quickstart(collector: CollectorServer, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    return subprocess.run([sys.executable, str(EXAMPLE), "--collector", collector.http_url, *extra],
                          capture_output=True, text=True, env=env, timeout=120)


def test_quickstart_runs_every_step_with_a_simulated_expert(collector: CollectorServer) -> None:
    result = run_quickstart(collector, "--reviewer", "expert_1", "--password", "expert-password")
    assert result.returncode == 0, result.stderr
    assert "STAND-IN model" in result.stdout
    assert f"Share this link with reviewers: {collector.http_url}/review/sessions/" in result.stdout
    assert "Metrics: {'correctness/pass_rate': 1.0, 'correctness/error_count': 0.0}" in result.stdout

    collector.store.flush()
    connection = connect(collector.data_dir)
    try:
        names = connection.execute(
            "select name, source_type, source_id, value from assessments order by name").fetchall()
    finally:
        connection.close()
    assert [(name, source_type, source_id) for name, source_type, source_id, _ in names] == [
        ("correctness", "LLM_JUDGE", "correctness"),
        ("expected_response", "HUMAN", "expert_1"),
        ("response_accuracy", "HUMAN", "expert_1"),
        ("user_feedback", "HUMAN", "enduser_123"),
    ]
    assert json.loads(names[0][3]) == "yes"


def test_quickstart_without_a_reviewer_stops_at_the_review_link(collector: CollectorServer) -> None:
    result = run_quickstart(collector)
    assert result.returncode == 0, result.stderr
    assert "Share this link with reviewers:" in result.stdout
    assert "Metrics:" not in result.stdout
    assert not (collector.data_dir / "evaluations").exists()
