"""``otel-feedback sql`` through argparse (in-process) and as a subprocess, in every format."""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from collector.sql_cli import register_sql_command
from collector.storage import SpanStore
from otlp_builders import genai_trace, traces_request


def _run(argv: list[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="otel-feedback")
    register_sql_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    out = io.StringIO()
    code = args.func(args, out=out)
    return code, out.getvalue()


@pytest.fixture
def filled(store: SpanStore, data_dir: Path) -> Path:
    for index in range(2):
        store.write_traces(traces_request(genai_trace(text=f"q{index}")[1]))
    store.flush()
    return data_dir


_QUERY = "SELECT span_type, count(*) AS n FROM spans GROUP BY span_type ORDER BY span_type"


def test_table_format(filled: Path) -> None:
    code, output = _run(["sql", "--data", str(filled), _QUERY])
    assert code == 0
    lines = output.splitlines()
    assert lines[0].split() == ["span_type", "|", "n"]
    assert [line.split() for line in lines[2:5]] == [
        ["CHAIN", "|", "2"], ["LLM", "|", "2"], ["RETRIEVER", "|", "2"]
    ]
    assert lines[-1] == "(3 rows)"


def test_csv_format(filled: Path) -> None:
    code, output = _run(["sql", "--data", str(filled), "--format", "csv", _QUERY])
    assert code == 0
    assert list(csv.reader(io.StringIO(output))) == [
        ["span_type", "n"], ["CHAIN", "2"], ["LLM", "2"], ["RETRIEVER", "2"]
    ]


def test_json_format_with_timestamps(filled: Path) -> None:
    code, output = _run(
        ["sql", "--data", str(filled), "--format", "json",
         "SELECT trace_id, start_time, span_count FROM traces ORDER BY trace_id"]
    )
    assert code == 0
    rows = json.loads(output)
    assert len(rows) == 2 and all(row["span_count"] == 3 for row in rows)
    assert all(row["start_time"].startswith("20") for row in rows)


def test_bad_query_is_reported_with_exit_code_1(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _run(["sql", "--data", str(filled), "SELECT nope FROM spans"])
    assert code == 1
    assert "the query failed" in capsys.readouterr().err


def test_subprocess_with_env_data_dir_while_collector_runs(filled: Path) -> None:
    code = (
        "import sys; from collector.sql_cli import register_sql_command; import argparse; "
        "p = argparse.ArgumentParser(); register_sql_command(p.add_subparsers()); "
        "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "sql", "--format", "csv", "SELECT count(*) AS n FROM spans"],
        capture_output=True, text=True, timeout=60,
        env={**__import__("os").environ, "OTEL_FEEDBACK_DATA": str(filled)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["n", "6"]


def test_missing_data_directory_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _run(["sql", "--data", str(tmp_path / "absent"), "SELECT 1"])
    assert code == 1
    assert "otel-feedback serve" in capsys.readouterr().err
