"""`otel-feedback demo`: the tutorial flow end to end in a subprocess, checked in the stored files.

The demo runs with the stand-in model and judge (no OPENAI_API_KEY), exits with ``--no-serve``,
and what it stored is read back from the data directory: the traces, the end user's thumbs-down,
the developer's score, the labeling session and its reviewer (catalog), the expert's labels
submitted through the review app, the evaluation run (Parquet under ``evaluations/``) and the
judge's feedback in ``assessments``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from otel_feedback_collector.catalog import CatalogDatabase
from otel_feedback_collector.catalog.agents import list_agents
from otel_feedback_collector.catalog.users import verify_user
from otel_feedback_collector.storage import connect
from otel_feedback.label_schemas import LabelSchema
from otel_feedback_collector.demo.runner import CHAT_AGENT, EXPECTED_RESPONSE, REVIEWER, SESSION_NAME


def run_demo(data_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    return subprocess.run(
        [sys.executable, "-m", "otel_feedback.cli", "demo", "--no-serve", "--data", str(data_dir),
         "--port", "0", "--grpc-port", "0", *extra],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=180,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One full demo run (every step), shared by the checks below."""
    data_dir = tmp_path_factory.mktemp("demo") / "demo-data"
    return data_dir, run_demo(data_dir)


def test_demo_exits_cleanly_and_announces_its_stand_ins(demo):
    _, result = demo
    assert result.returncode == 0, result.stderr
    assert "STAND-IN for an LLM" in result.stdout
    assert "STAND-IN for an LLM judge" in result.stdout
    assert "SIMULATED expert review" in result.stdout
    assert "in real use the expert submits this in the review app at http://127.0.0.1:" in result.stdout


def test_demo_stores_traces_and_the_end_users_thumbs_down(demo):
    data_dir, result = demo
    connection = connect(data_dir)
    try:
        traces = connection.execute("select trace_id, name from traces order by start_time").fetchall()
        thumbs_down = connection.execute(
            "select trace_id, value, source_type, source_id, rationale from assessments where name = 'user_feedback'"
        ).fetchall()
        kinds = connection.execute(
            "select span_type, count(*) from spans where name = 'retrieve_context' or span_type = 'CHAT_MODEL' "
            "group by 1 order by 1").fetchall()
    finally:
        connection.close()
    # Four questions, plus the one labeled trace re-run by the evaluation.
    assert [name for _, name in traces] == ["my_chatbot"] * 5
    assert kinds == [("CHAT_MODEL", 5), ("RETRIEVER", 5)]
    [(trace_id, value, source_type, source_id, rationale)] = thumbs_down
    assert trace_id == traces[0][0]
    assert (value, source_type, source_id) == ("false", "HUMAN", "enduser_123")
    assert rationale.startswith("Missing details")
    assert trace_id in result.stdout


def test_demo_logs_the_developers_score_through_the_rest_api(demo):
    data_dir, _ = demo
    connection = connect(data_dir)
    try:
        rows = connection.execute(
            "select a.trace_id, a.value, a.source_id from assessments a join assessments u "
            "on a.trace_id = u.trace_id and u.name = 'user_feedback' where a.name = 'accuracy_score'"
        ).fetchall()
    finally:
        connection.close()
    assert [(json.loads(value), source_id) for _, value, source_id in rows] == [(0.75, "developer_demo")]


def test_demo_creates_the_session_and_the_reviewer_and_prints_the_password_once(demo):
    data_dir, result = demo
    with CatalogDatabase(data_dir).transaction() as connection:
        sessions = connection.execute("select session_id, name, assigned_users from labeling_sessions").fetchall()
        items = connection.execute("select session_id, trace_id from labeling_items").fetchall()
        schemas = dict(connection.execute(
            "select name, definition from label_schemas where name in ('response_accuracy', 'expected_response')"
        ).fetchall())
    [(session_id, name, assigned)] = sessions
    assert (name, json.loads(assigned)) == (SESSION_NAME, [REVIEWER])
    assert [(sid) for sid, _ in items] == [session_id]
    accuracy, ideal = LabelSchema.from_dict(json.loads(schemas["response_accuracy"])), \
        LabelSchema.from_dict(json.loads(schemas["expected_response"]))
    assert (accuracy.type, list(accuracy.input.options)) == ("feedback", ["Accurate", "Partially Accurate", "Inaccurate"])
    assert (ideal.type, type(ideal.input).__name__) == ("expectation", "InputText")
    assert f"/review/sessions/{session_id}" in result.stdout
    [password] = re.findall(rf"reviewer account '{REVIEWER}', password (\S+)", result.stdout)
    assert verify_user(CatalogDatabase(data_dir), REVIEWER, password)
    assert not verify_user(CatalogDatabase(data_dir), REVIEWER, password + "x")


def test_demo_stores_the_experts_labels_from_the_review_app(demo):
    data_dir, _ = demo
    with CatalogDatabase(data_dir).transaction() as connection:
        [(session_id, labeled_trace)] = connection.execute("select session_id, trace_id from labeling_items").fetchall()
    connection = connect(data_dir)
    try:
        labels = connection.execute(
            "select name, type, value, source_type, source_id, "
            "json_extract_string(metadata, '$.labeling_session_id') from assessments "
            "where trace_id = ? and source_id = ? order by name", [labeled_trace, REVIEWER]
        ).fetchall()
    finally:
        connection.close()
    assert [(n, t, json.loads(v), st, sid, ls) for n, t, v, st, sid, ls in labels] == [
        ("expected_response", "expectation", EXPECTED_RESPONSE, "HUMAN", REVIEWER, session_id),
        ("response_accuracy", "feedback", "Partially Accurate", "HUMAN", REVIEWER, session_id),
    ]


def test_demo_evaluates_with_correctness_and_stores_the_run_and_the_judges_feedback(demo):
    data_dir, result = demo
    [run_dir] = (data_dir / "evaluations").iterdir()
    run = duckdb.sql(f"select run_id, row_count, scorers, metrics from read_parquet('{run_dir}/run.parquet')").fetchall()
    [(run_id, row_count, scorers, metrics)] = run
    assert (f"run_id={run_id}", row_count, scorers) == (run_dir.name, 1, ["correctness"])
    # The stand-in chatbot's one-sentence answer lacks most of the expert's expected response.
    assert json.loads(metrics) == {"correctness/pass_rate": 0.0, "correctness/error_count": 0.0}
    [(new_trace, source_trace, verdict)] = duckdb.sql(
        f"select trace_id, source_trace_id, value ->> '$' from read_parquet('{run_dir}/rows.parquet') as r "
        f"join read_parquet('{run_dir}/scores.parquet') as s using (row) where name = 'correctness'"
    ).fetchall()
    assert verdict == "no"

    connection = connect(data_dir)
    try:
        judged = connection.execute(
            "select trace_id, value, source_type, source_id, rationale, json_extract_string(metadata, '$.run_id') "
            "from assessments where name = 'correctness'").fetchall()
        thumbs_down = connection.execute("select trace_id from assessments where name = 'user_feedback'").fetchone()[0]
    finally:
        connection.close()
    assert source_trace == thumbs_down and new_trace != thumbs_down
    [(trace_id, value, source_type, source_id, rationale, logged_run)] = judged
    assert (trace_id, json.loads(value), source_type, source_id, logged_run) == (
        new_trace, "no", "LLM_JUDGE", "correctness", run_id)
    assert "key words of the expected response" in rationale
    assert f"correctness = no ({rationale})" in result.stdout
    assert "correctness/pass_rate = 0" in result.stdout


def test_demo_registers_its_chatbot_for_the_vibe_check_and_prints_the_chat_url(demo):
    data_dir, result = demo
    [agent] = list_agents(CatalogDatabase(data_dir))
    assert (agent.name, agent.model) == (CHAT_AGENT, "my_chatbot")
    assert re.match(r"http://127\.0\.0\.1:\d+/v1$", agent.base_url)
    assert re.search(r"experts sign in at http://127\.0\.0\.1:\d+/review/chat,", result.stdout)


def test_demo_until_session_leaves_the_review_to_a_person(tmp_path):
    data_dir = tmp_path / "demo-data"
    result = run_demo(data_dir, "--until", "session")
    assert result.returncode == 0, result.stderr
    assert "Your turn: be the expert" in result.stdout
    assert "SIMULATED" not in result.stdout
    assert not (data_dir / "evaluations").exists()
    connection = connect(data_dir)
    try:
        names = connection.execute("select distinct name from assessments order by name").fetchall()
    finally:
        connection.close()
    assert names == [("accuracy_score",), ("user_feedback",)]


def test_demo_never_writes_into_an_existing_data_directory_without_asking(tmp_path):
    data_dir = tmp_path / "precious"
    data_dir.mkdir()
    (data_dir / "keep.txt").write_text("mine")
    result = run_demo(data_dir)
    assert result.returncode == 2
    assert "never writes into an existing data directory without asking" in result.stderr
    assert sorted(p.name for p in data_dir.iterdir()) == ["keep.txt"]
