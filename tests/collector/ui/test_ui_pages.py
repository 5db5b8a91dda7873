"""The UI's pages and JSON endpoints over plain HTTP: empty states, the traces table's search,
filters, sorting and paging, escaping, security headers and the compact span list."""

from __future__ import annotations

import re

import httpx
from ui_support import send_trace

from otel_feedback_collector.server import CollectorServer


def get(server: CollectorServer, path: str, **params: str) -> httpx.Response:
    return httpx.get(server.http_url + path, params=params, timeout=30)


def table_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-trace-id="([0-9a-f]{32})"', html)


def add_assessment(server: CollectorServer, trace_id: str, name: str, value: object, rationale: str = "") -> None:
    answer = httpx.post(
        f"{server.http_url}/api/v1/traces/{trace_id}/assessments",
        json={"name": name, "type": "feedback", "value": value, "rationale": rationale},
    )
    assert answer.status_code == 201, answer.text
    server.store.flush()


def test_empty_collector_says_how_to_get_traces(collector: CollectorServer) -> None:
    for path in ("/", "/experiments/nothing-yet"):
        answer = get(collector, path)
        assert answer.status_code == 200
        assert "run `otel-feedback demo`" in answer.text
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" in answer.text


def test_pages_carry_a_strict_content_security_policy(collector: CollectorServer) -> None:
    answer = get(collector, "/")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["content-type"].startswith("text/html")
    assert "<script>" not in answer.text  # no inline script anywhere
    assert get(collector, "/ui/static/trace.js").status_code == 200
    script = get(collector, "/ui/static/trace.js").text
    assert script.count("innerHTML") == 1 and "Nothing here assigns innerHTML" in script  # only the rule itself


def test_experiments_and_traces_table_show_the_summary_and_assessment_columns(collector: CollectorServer) -> None:
    first, _root, _child = send_trace(collector, question="How do refunds work?", answer="Refunds take 5 days.")
    second, _root, _child = send_trace(collector, question="What is MLflow?", answer="A platform.")
    send_trace(collector, service="other-app")
    add_assessment(collector, first, "user_feedback", False, rationale="too vague")
    add_assessment(collector, second, "accuracy_score", 0.75)

    home = get(collector, "/").text
    assert 'href="/experiments/chatbot"' in home and 'href="/experiments/other-app"' in home

    table = get(collector, "/experiments/chatbot").text
    assert sorted(table_ids(table)) == sorted([first, second])
    assert '<th class="assessment-col" data-name="accuracy_score" data-col="a:accuracy_score">' in table
    assert '<th class="assessment-col" data-name="user_feedback" data-col="a:user_feedback">' in table
    assert "How do refunds work?" in table and "Refunds take 5 days." in table
    assert 'title="too vague — HUMAN anonymous"' in table
    # A boolean is a word (a machine without an emoji font still reads it); the thumb is decoration.
    assert '<span class="value-icon" aria-hidden="true">👎</span> No</td>' in table and ">0.75</td>" in table


def test_text_search_status_span_type_and_assessment_filters(collector: CollectorServer) -> None:
    refund, _root, _child = send_trace(collector, question="How do REFUNDS work?", answer="In 5 days.")
    other, _root, _child = send_trace(collector, question="What is 100% uptime?", answer="Never.")
    add_assessment(collector, other, "user_feedback", True)
    add_assessment(collector, refund, "user_feedback", False)

    assert table_ids(get(collector, "/experiments/chatbot", q="refunds").text) == [refund]
    assert table_ids(get(collector, "/experiments/chatbot", q="100%").text) == [other]
    assert table_ids(get(collector, "/experiments/chatbot", q="never").text) == [other]  # outputs too
    assert table_ids(get(collector, "/experiments/chatbot", a_name="user_feedback", a_value="false").text) == [refund]
    assert table_ids(get(collector, "/experiments/chatbot", status="UNSET").text) != []
    assert table_ids(get(collector, "/experiments/chatbot", span_type="LLM").text) != []
    none = get(collector, "/experiments/chatbot", span_type="TOOL")
    assert table_ids(none.text) == [] and "matches these filters" in none.text
    assert table_ids(get(collector, "/experiments/chatbot", q="it''s ' OR 1=1 --").text) == []


def test_a_bad_filter_answers_400_with_what_to_fix(collector: CollectorServer) -> None:
    send_trace(collector)
    answer = get(collector, "/experiments/chatbot", filter="status = 'OK' OR 1 = 1")
    assert answer.status_code == 400
    assert "OR is not supported" in answer.text and "press Clear" in answer.text


def test_sorting_and_paging(collector: CollectorServer) -> None:
    ids = [send_trace(collector)[0] for _ in range(3)]
    newest_first = table_ids(get(collector, "/experiments/chatbot").text)
    assert sorted(newest_first) == sorted(ids)
    oldest_first = table_ids(get(collector, "/experiments/chatbot", sort="start_time", dir="ASC").text)
    assert oldest_first == list(reversed(newest_first))

    first_page = get(collector, "/experiments/chatbot", per_page="2").text
    assert table_ids(first_page) == newest_first[:2]
    link = re.search(r'id="next-page" href="\?([^"]+)"', first_page)
    assert link is not None
    second_page = httpx.get(f"{collector.http_url}/experiments/chatbot?{link.group(1).replace('&amp;', '&')}").text
    assert table_ids(second_page) == newest_first[2:]
    assert 'id="next-page"' not in second_page


def test_span_data_is_escaped_in_server_rendered_pages(collector: CollectorServer) -> None:
    trace_id, _root, _child = send_trace(collector, service="<b>svc</b>", question="<script>alert(1)</script>")
    home = get(collector, "/").text
    assert "&lt;b&gt;svc&lt;/b&gt;" in home and "<b>svc</b>" not in home
    table = get(collector, "/experiments/<b>svc</b>").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in table and "<script>alert(1)" not in table
    view = get(collector, f"/traces/{trace_id}").text
    assert "<b>svc</b>" not in view


def test_unknown_trace_pages_and_endpoints_say_what_to_do(collector: CollectorServer) -> None:
    missing = get(collector, "/traces/" + "ab" * 16)
    assert missing.status_code == 404 and "export queue" in missing.text
    assert get(collector, "/traces/not-an-id").status_code == 404
    spans = get(collector, "/ui/api/traces/" + "ab" * 16 + "/spans")
    assert spans.status_code == 404 and spans.json()["error"]["code"] == "NOT_FOUND"
    assert get(collector, "/ui/api/traces/xyz/spans").json()["error"]["code"] == "BAD_REQUEST"
    trace_id, _root, _child = send_trace(collector)
    assert get(collector, f"/ui/api/traces/{trace_id}/spans/{'cd' * 8}").status_code == 404


def test_compact_span_list_has_exactly_the_apps_spans(demo_collector: CollectorServer) -> None:
    # Feedback travels as log records, so a trace with assessments holds only the app's spans.
    connection = demo_collector.store.connect()
    try:
        trace_id = connection.execute("SELECT trace_id FROM assessments").fetchone()[0]
        stored = connection.execute("SELECT count(*) FROM spans WHERE trace_id = ?", [trace_id]).fetchone()[0]
    finally:
        connection.close()
    data = get(demo_collector, f"/ui/api/traces/{trace_id}/spans").json()
    assert data["columns"] == ["span_id", "parent_span_id", "name", "span_type", "start_ms", "duration_ms", "status"]
    names = [row[2] for row in data["spans"]]
    assert len(names) == stored
    assert not any(name.startswith(("feedback ", "expectation ")) for name in names)
    assert data["spans"][0][4] == 0.0 and data["duration_ms"] > 0
    root = data["spans"][0]
    detail = get(demo_collector, f"/ui/api/traces/{trace_id}/spans/{root[0]}").json()["span"]
    assert detail["span_id"] == root[0] and isinstance(detail["attributes"], dict)
    names_json = get(demo_collector, "/ui/api/assessment-names").json()
    assert names_json == {"names": ["user_feedback"], "value_types": {"user_feedback": "boolean"}}


def test_assessment_columns_put_feedback_before_expectations() -> None:
    from otel_feedback_collector.ui.trace_table import assessment_columns

    rows = [{"assessments": {"expected_response": "x", "user_feedback": False}},
            {"assessments": {"accuracy_score": 0.75, "expected_facts": ["a"]}}, {"assessments": None}]
    assert assessment_columns(rows, {"expected_response", "expected_facts"}) == [
        "accuracy_score", "user_feedback", "expected_facts", "expected_response"]
    assert assessment_columns(rows) == ["accuracy_score", "expected_facts", "expected_response", "user_feedback"]
