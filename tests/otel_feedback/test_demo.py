"""`otel-feedback demo`: the tutorial flow end to end in a subprocess, checked in the stored files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from collector.storage import connect


def run_demo(data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    return subprocess.run(
        [sys.executable, "-m", "otel_feedback.cli", "demo", "--no-serve", "--data", str(data_dir),
         "--port", "0", "--grpc-port", "0"],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=180,
    )


def test_demo_runs_the_flow_and_stores_it(tmp_path):
    data_dir = tmp_path / "demo-data"
    result = run_demo(data_dir)
    assert result.returncode == 0, result.stderr
    assert "STAND-IN for an LLM" in result.stdout
    assert "End user gave a thumbs-down" in result.stdout

    connection = connect(data_dir)
    traces = connection.execute("select trace_id, name, span_count from traces order by start_time").fetchall()
    assert [(name) for _, name, _ in traces] == ["my_chatbot"] * 4
    kinds = connection.execute(
        "select span_type, count(*) from spans where name <> 'feedback user_feedback' group by 1 order by 1"
    ).fetchall()
    assert kinds == [("CHAT_MODEL", 4), ("RETRIEVER", 4), ("UNKNOWN", 4)]
    [(trace_id, name, value, source_type, source_id, rationale)] = connection.execute(
        "select trace_id, name, value, source_type, source_id, rationale from assessments"
    ).fetchall()
    assert trace_id == traces[0][0]
    assert (name, value, source_type, source_id) == ("user_feedback", "false", "HUMAN", "enduser_123")
    assert rationale.startswith("Missing details")
    assert trace_id in result.stdout


def test_demo_never_writes_into_an_existing_data_directory_without_asking(tmp_path):
    data_dir = tmp_path / "precious"
    data_dir.mkdir()
    (data_dir / "keep.txt").write_text("mine")
    result = run_demo(data_dir)
    assert result.returncode == 2
    assert "never writes into an existing data directory without asking" in result.stderr
    assert sorted(p.name for p in data_dir.iterdir()) == ["keep.txt"]
