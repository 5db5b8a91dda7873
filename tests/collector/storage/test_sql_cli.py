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

from otel_feedback_collector.sql_cli import register_sql_command
from otel_feedback_collector.storage import SpanStore
from otlp_builders import genai_trace, traces_request

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "query"))
from hostile_sql import ALLOWED_SQL, HOSTILE_SQL, fill  # noqa: E402


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
        "import sys; from otel_feedback_collector.sql_cli import register_sql_command; import argparse; "
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


@pytest.mark.parametrize("sql", ALLOWED_SQL)
def test_queries_over_every_view_work(filled: Path, sql: str) -> None:
    code, output = _run(["sql", "--data", str(filled), "--format", "json", sql])
    assert code == 0
    assert json.loads(output)[0]["n"] >= 0


@pytest.mark.parametrize("sql", HOSTILE_SQL)
def test_anything_outside_the_views_is_refused(
    filled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], sql: str
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    code, output = _run(["sql", "--data", str(filled), "--format", "csv", fill(sql, filled, scratch)])
    assert code == 1
    assert output == ""
    assert capsys.readouterr().err.startswith("error: ")
    assert list(scratch.iterdir()) == []


def _store_span_named(store: SpanStore, name: str) -> None:
    request = traces_request(genai_trace(text="q")[1])
    request.resource_spans[0].scope_spans[0].spans[0].name = name
    store.write_traces(request)
    store.flush()


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_start_a_formula_are_defused(store: SpanStore, data_dir: Path, name: str) -> None:
    _store_span_named(store, name)
    query = f"SELECT name, -5 AS minus FROM spans WHERE name = '{name}'"
    code, output = _run(["sql", "--data", str(data_dir), "--format", "csv", query])
    assert code == 0
    assert list(csv.reader(io.StringIO(output, newline=""))) == [["name", "minus"], ["'" + name, "-5"]]
    code, output = _run(["sql", "--data", str(data_dir), "--format", "csv", "--raw-csv", query])
    assert code == 0
    assert list(csv.reader(io.StringIO(output, newline=""))) == [["name", "minus"], [name, "-5"]]


def test_help_documents_raw_csv(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _run(["sql", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--raw-csv" in help_text and "formula" in help_text


def test_table_output_shows_control_characters_as_escapes(store: SpanStore, data_dir: Path) -> None:
    _store_span_named(store, "a\x1b[2Jb\rc\x07d\x9be\u202ef")
    code, output = _run(["sql", "--data", str(data_dir), "SELECT name AS \"n\x1b]8;\" FROM spans WHERE name LIKE 'a%'"])
    assert code == 0
    assert not any(ch in output for ch in "\x1b\r\x07\x9b\u202e")
    assert "a\\x1b[2Jb\\rc\\x07d\\x9be\\u202ef" in output
    assert output.splitlines()[0] == "n\\x1b]8;"


def test_json_output_escapes_the_controls_json_leaves_raw(store: SpanStore, data_dir: Path) -> None:
    name = "a\x1b[2Jb\x9bc\x7fd\u202ee"
    _store_span_named(store, name)
    code, output = _run(["sql", "--data", str(data_dir), "--format", "json", "SELECT name FROM spans WHERE name LIKE 'a%'"])
    assert code == 0
    assert not any(ch in output for ch in "\x1b\x9b\x7f\u202e")
    assert json.loads(output) == [{"name": name}]
