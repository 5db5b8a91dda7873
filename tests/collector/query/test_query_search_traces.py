"""search_traces over real Parquet files: every field kind, operator, ordering and paging."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from search_dataset import INJECTION, SearchData

from otel_feedback_collector.query import FilterError, find_traces, search_traces


def ids(connection: duckdb.DuckDBPyConnection, filter: str | None = None, **options) -> set[str]:
    table, _ = search_traces(connection, filter=filter, **options)
    return set(table.column("trace_id").to_pylist())


def test_no_filter_lists_every_trace_newest_first(connection, search_data: SearchData):
    table, token = search_traces(connection)
    assert table.column("trace_id").to_pylist() == [
        search_data.t3, search_data.t5, search_data.t4, search_data.t1, search_data.t2
    ]
    assert token is None


def test_the_tutorial_example_filter(connection, search_data: SearchData):
    found = ids(connection, "assessments.user_feedback = false AND span_type = 'LLM' AND start_time > '2026-11-01'")
    assert found == search_data.ids("t1")


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("assessments.user_feedback = false", ("t1",)),  # t4 overridden to true, t5 deleted
        ("assessments.user_feedback = true", ("t2", "t4")),
        ("feedback.user_feedback != false", ("t2", "t4")),
        ("assessments.user_feedback IS NULL", ("t3", "t5")),
        ("assessments.user_feedback IS NOT NULL", ("t1", "t2", "t4")),
        ("assessments.user_feedback = null", ("t3", "t5")),
        ("assessments.accuracy_score > 0.5", ("t1",)),
        ("assessments.accuracy_score >= 0.75", ("t1",)),
        ("assessments.accuracy_score < 0.75", ()),
        ("assessments.accuracy_score IN (0.5, 0.75)", ("t1",)),
        ("expectations.expected_response = 'The answer'", ("t2",)),
        ("expectations.expected_response LIKE 'The%'", ("t2",)),
        ("expectations.expected_response ILIKE 'the ANSWER'", ("t2",)),
        ("feedback.expected_response = 'The answer'", ()),
        ("assessments.`user_feedback` = false", ("t1",)),
    ],
)
def test_assessment_fields(connection, search_data: SearchData, filter: str, expected: tuple[str, ...]):
    assert ids(connection, filter) == search_data.ids(*expected)


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("span_type = 'LLM'", ("t1", "t3")),  # t3's model span is a CHAT_MODEL, a kind of LLM
        ("span_type = 'CHAT_MODEL'", ("t3",)),
        ("span_type IN ('CHAT_MODEL', 'RETRIEVER')", ("t2", "t3")),
        ("span_type IN ('RETRIEVER', 'TOOL')", ("t2",)),
        ("span.name = 'retrieve'", ("t2",)),
        ("span.name LIKE 'chat %'", ("t1", "t3")),
        ("status = 'ERROR'", ("t2",)),
        ("status != 'ERROR'", ("t1", "t3", "t4", "t5")),
        ("name = 'batch_job'", ("t3",)),
        ("name ILIKE 'CHAT%'", ("t1", "t2", "t4", "t5")),
        ("start_time > '2026-11-01'", ("t1", "t3", "t4", "t5")),
        ("start_time <= '2026-11-02T10:00:00Z'", ("t1", "t2")),
        ("start_time < '2026-11-03 09:00:00+00:00'", ("t1", "t2")),
        ("total_tokens >= 500", ("t3",)),
        ("total_tokens < 100", ("t1",)),
        ("total_tokens IS NULL", ("t2", "t4", "t5")),
        ("span_count = 2", ("t1", "t2", "t3")),
        ("duration_ms >= 50", ("t1", "t2", "t3", "t4", "t5")),
        ("service_name = 'other-app'", ("t4", "t5")),
        ("experiment IN ('test-app')", ("t1", "t2", "t3")),
        ("request = 'it''s a batch'", ("t3",)),
        ("response LIKE 'answer to deleted%'", ("t5",)),
        ("metadata.channel = 'web'", ("t1",)),
        ("metadata.channel IN ('web', 'cli')", ("t1", "t3")),
        ("metadata.priority = 2", ("t1",)),
        ("metadata.priority > 1.5", ("t1",)),
        ("metadata.channel IS NULL", ("t2", "t4", "t5")),
        ("tags.env = 'prod'", ("t1",)),
        ("span_type = 'LLM' AND metadata.channel = 'cli' AND total_tokens > 100", ("t3",)),
    ],
)
def test_trace_span_and_root_attribute_fields(connection, search_data: SearchData, filter: str, expected):
    assert ids(connection, filter) == search_data.ids(*expected)


def test_experiment_argument_restricts_the_search(connection, search_data: SearchData):
    assert ids(connection, experiment="other-app") == search_data.ids("t4", "t5")
    assert ids(connection, "assessments.user_feedback = true", experiment="other-app") == search_data.ids("t4")


@pytest.mark.parametrize(
    "filter",
    [
        f"name = '{INJECTION.replace(chr(39), chr(39) * 2)}'",
        "name = 'x'' OR ''1''=''1'",
        "assessments.`x') OR 1=1 --` = true",
        "metadata.`a') OR TRUE --` = 'x'",
    ],
)
def test_injection_attempts_are_plain_literals(connection, filter: str):
    assert ids(connection, filter) == set()


def test_injected_text_matches_only_itself(connection, search_data: SearchData):
    escaped = INJECTION.replace("'", "''")
    assert ids(connection, f"request = '{escaped}'") == search_data.ids("t4")


@pytest.mark.parametrize(
    "filter",
    ["status = 'x'; DROP VIEW spans", "status = 'x' -- comment", "status = 'x' OR 1=1", "status = 'x') OR (1=1"],
)
def test_sql_outside_a_literal_is_rejected_and_the_views_survive(connection, filter: str):
    with pytest.raises(FilterError):
        search_traces(connection, filter=filter)
    assert connection.execute("SELECT count(*) FROM spans").fetchone()[0] == 8


def test_order_by_a_column_and_direction(connection, search_data: SearchData):
    table, _ = search_traces(connection, order_by="total_tokens DESC")
    assert table.column("trace_id").to_pylist()[:2] == [search_data.t3, search_data.t1]
    table, _ = search_traces(connection, order_by=["start_time ASC"])
    assert table.column("trace_id").to_pylist()[0] == search_data.t2


@pytest.mark.parametrize("order_by", ["start_time; DROP VIEW spans", "bogus DESC", "start_time UP", "1"])
def test_order_by_outside_the_whitelist_is_rejected(connection, order_by: str):
    with pytest.raises(FilterError, match="order_by"):
        search_traces(connection, order_by=order_by)


def test_paging_walks_every_trace_once(connection, search_data: SearchData):
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        table, token = search_traces(connection, max_results=2, page_token=token)
        seen.extend(table.column("trace_id").to_pylist())
        pages += 1
        if token is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(search_data.ids("t1", "t2", "t3", "t4", "t5"))


def test_a_token_from_another_search_or_garbage_is_refused(connection):
    _, token = search_traces(connection, max_results=2)
    assert token is not None
    with pytest.raises(FilterError, match="different search"):
        search_traces(connection, filter="status = 'OK'", max_results=2, page_token=token)
    with pytest.raises(FilterError, match="page_token is not valid"):
        search_traces(connection, page_token="not-a-token!")


def test_max_results_is_checked_and_capped(connection):
    table, _ = search_traces(connection, max_results=50_000)
    assert table.num_rows == 5
    for bad in (0, -1, True, "10"):
        with pytest.raises(FilterError, match="max_results"):
            search_traces(connection, max_results=bad)


def test_assessment_columns_hold_decoded_current_values(connection, search_data: SearchData):
    table, _ = search_traces(connection, order_by="start_time ASC")
    rows = {row["trace_id"]: row for row in table.to_pylist()}
    assert table.schema.field("assessments.user_feedback").type == pa.bool_()
    assert table.schema.field("assessments.accuracy_score").type == pa.float64()
    assert rows[search_data.t1]["assessments.user_feedback"] is False
    assert rows[search_data.t4]["assessments.user_feedback"] is True
    assert rows[search_data.t5]["assessments.user_feedback"] is None
    assert rows[search_data.t2]["assessments.expected_response"] == "The answer"
    assert rows[search_data.t1]["assessments.accuracy_score"] == 0.75


def test_request_is_the_decoded_root_input(connection, search_data: SearchData):
    table, _ = search_traces(connection, filter=f"trace_id = '{search_data.t1}'")
    assert table.schema.field("request").type == pa.struct([("question", pa.string())])
    assert table.column("request").to_pylist() == [{"question": "What is MLflow?"}]
    assert table.column("response").to_pylist() == ['answer to {"question": "What is MLflow?"}']
    # Mixed shapes (a dict and plain strings) fall back to JSON text for the whole column.
    table, _ = search_traces(connection, filter="span_type = 'LLM'", order_by="start_time ASC")
    assert table.column("request").to_pylist() == ['{"question": "What is MLflow?"}', '"it\'s a batch"']


def test_an_empty_result_has_the_trace_columns(connection):
    table, token = search_traces(connection, filter="status = 'nothing'")
    assert table.num_rows == 0 and token is None
    assert {"trace_id", "request", "response", "start_time"} <= set(table.column_names)


def test_find_traces_rows_carry_an_assessments_mapping(connection, search_data: SearchData):
    page = find_traces(connection, filter=f"trace_id = '{search_data.t2}'")
    (row,) = page.rows
    assert row["assessments"] == {"user_feedback": True, "expected_response": "The answer"}
    assert row["status"] == "ERROR" and row["request"] == "How do I trace?"


def test_search_over_an_empty_data_directory(tmp_path):
    from otel_feedback_collector.storage import SpanStore, connect

    with SpanStore(tmp_path / "empty") as store:
        store.flush()
    table, token = search_traces(connect(tmp_path / "empty"), filter="assessments.x = true AND span_type = 'LLM'")
    assert table.num_rows == 0 and token is None
