"""otel_feedback.search_traces: from the data files directly and through the collector's REST API.

The traces and feedback are recorded by the real SDK, exported over OTLP/HTTP to a real
collector, and stored in Parquet; both read paths must return the same table.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from collector_session import configured_endpoint, exporting_to

import otel_feedback
from otel_feedback_collector.server import CollectorServer
from otel_feedback import AssessmentSource, SpanType, log_expectation, log_feedback, search_traces, trace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collector" / "query"))
from hostile_sql import ALLOWED_SQL, HOSTILE_SQL, fill  # noqa: E402

QUESTIONS = ["What is MLflow?", "How do I trace?", "Refund policy?"]


@trace(span_type=SpanType.RETRIEVER)
def _retrieve(question: str) -> list[str]:
    return [f"doc about {question}"]


@trace
def _chatbot(question: str) -> str:
    return f"answer from {_retrieve(question)[0]}"


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorServer]:
    """A real collector (OTLP/HTTP + REST API) on a free loopback port."""
    data_dir = tmp_path_factory.mktemp("sdk-search") / "data"
    with CollectorServer(data_dir, port=0, grpc_port=None, flush_interval=0.2) as server:
        yield server


@pytest.fixture(scope="module")
def trace_ids(collector: CollectorServer) -> list[str]:
    """Three chatbot traces; the first got a thumbs-down and an expectation, the second a thumbs-up."""
    ids: list[str] = []
    with exporting_to(collector.http_url, service_name="search-sdk") as provider:
        for question in QUESTIONS:
            _chatbot(question)
            ids.append(otel_feedback.get_last_active_trace_id())
        log_feedback(trace_id=ids[0], name="user_feedback", value=False, rationale="wrong",
                     source=AssessmentSource("HUMAN", "enduser_123"))
        log_expectation(trace_id=ids[0], name="expected_response", value="MLflow is an ML platform")
        log_feedback(trace_id=ids[1], name="user_feedback", value=True, source=AssessmentSource("HUMAN", "enduser_9"))
        assert provider.force_flush(10_000)
    collector.store.flush()
    return ids


def test_data_dir_search_finds_the_thumbs_down(collector: CollectorServer, trace_ids: list[str]):
    table = search_traces(filter="assessments.user_feedback = false", data_dir=collector.data_dir)
    assert isinstance(table, pa.Table)
    (row,) = table.to_pylist()
    assert row["trace_id"] == trace_ids[0]
    assert row["assessments.user_feedback"] is False
    assert row["assessments.expected_response"] == "MLflow is an ML platform"
    assert row["request"] == {"question": "What is MLflow?"}
    assert row["response"] == "answer from doc about What is MLflow?"
    assert row["experiment"] == "search-sdk"


def test_collector_search_gives_the_same_table(collector: CollectorServer, trace_ids: list[str]):
    local = search_traces(data_dir=collector.data_dir, order_by="start_time ASC")
    with configured_endpoint(collector.http_url):
        remote = search_traces(order_by="start_time ASC")
    assert remote.column_names == local.column_names
    assert remote.to_pylist() == local.to_pylist()
    assert remote.column("trace_id").to_pylist() == trace_ids
    assert remote.column("assessments.user_feedback").to_pylist() == [False, True, None]


def test_filters_go_through_the_collector(collector: CollectorServer, trace_ids: list[str]):
    with configured_endpoint(collector.http_url):
        found = search_traces(filter="span_type = 'RETRIEVER' AND feedback.user_feedback = true", return_type="list")
        assert [row["trace_id"] for row in found] == [trace_ids[1]]
        with pytest.raises(ValueError, match="position 0: unknown field 'nope'"):
            search_traces(filter="nope = 1")


def test_max_results_limits_rows_on_both_paths(collector: CollectorServer, trace_ids: list[str]):
    local = search_traces(data_dir=collector.data_dir, max_results=2)
    with configured_endpoint(collector.http_url):
        remote = search_traces(max_results=2)
    assert local.num_rows == remote.num_rows == 2
    assert local.column("trace_id").to_pylist() == [trace_ids[2], trace_ids[1]]


def test_env_data_dir_is_used_when_no_endpoint_is_configured(collector, trace_ids, monkeypatch):
    monkeypatch.setenv("OTEL_FEEDBACK_DATA", str(collector.data_dir))
    with configured_endpoint(None):
        rows = search_traces(experiment="search-sdk", return_type="list")
    assert {row["trace_id"] for row in rows} == set(trace_ids)


def test_sql_runs_a_read_only_select_over_the_files(collector: CollectorServer, trace_ids: list[str]):
    rows = search_traces(
        sql="SELECT name, value, source_id FROM assessments WHERE name = 'user_feedback' ORDER BY source_id",
        data_dir=collector.data_dir, return_type="list",
    )
    assert rows == [{"name": "user_feedback", "value": "false", "source_id": "enduser_123"},
                    {"name": "user_feedback", "value": "true", "source_id": "enduser_9"}]
    with pytest.raises(ValueError, match="read-only SELECT"):
        search_traces(sql="DROP VIEW spans", data_dir=collector.data_dir)
    with pytest.raises(ValueError, match="pass either sql or those"):
        search_traces(sql="SELECT 1", filter="status = 'OK'", data_dir=collector.data_dir)


@pytest.mark.parametrize("sql", ALLOWED_SQL)
def test_sql_over_every_view_works(collector: CollectorServer, trace_ids: list[str], sql: str):
    assert search_traces(sql=sql, data_dir=collector.data_dir, return_type="list")[0]["n"] > 0


@pytest.mark.parametrize("sql", HOSTILE_SQL)
def test_sql_cannot_reach_outside_the_views(
    collector: CollectorServer, trace_ids: list[str], tmp_path: Path, sql: str
):
    with pytest.raises(ValueError):
        search_traces(sql=fill(sql, collector.data_dir, tmp_path), data_dir=collector.data_dir)
    assert list(tmp_path.iterdir()) == []


def test_sql_needs_the_files_even_with_a_collector_configured(collector, monkeypatch):
    monkeypatch.delenv("OTEL_FEEDBACK_DATA", raising=False)
    with configured_endpoint(collector.http_url), pytest.raises(ValueError, match="sql= reads the data files directly"):
        search_traces(sql="SELECT 1")


def test_pandas_is_asked_for_only_when_wanted(collector, trace_ids, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if pandas were not installed
    with pytest.raises(ImportError, match="pip install pandas"):
        search_traces(data_dir=collector.data_dir, return_type="pandas")
    assert search_traces(data_dir=collector.data_dir, return_type="list")


def test_nowhere_to_read_from_says_what_to_do(monkeypatch):
    monkeypatch.delenv("OTEL_FEEDBACK_DATA", raising=False)
    with configured_endpoint(None), pytest.raises(ValueError, match=r"configure\('http://127.0.0.1:4318'\)"):
        search_traces()


def test_a_missing_data_dir_is_named(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="no otel-feedback data directory"):
        search_traces(data_dir=tmp_path / "nothing-here")


def test_an_unreachable_collector_is_named(monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        url = f"http://127.0.0.1:{port}"
        with configured_endpoint(url), pytest.raises(otel_feedback.CollectorUnavailable, match=f"127.0.0.1:{port}"):
            search_traces()


@pytest.mark.parametrize(
    ("options", "message"),
    [({"return_type": "csv"}, "return_type must be one of"), ({"max_results": 0}, "max_results must be a positive")],
)
def test_bad_options_are_value_errors(options, message):
    with pytest.raises(ValueError, match=message):
        search_traces(data_dir="unused", **options)
