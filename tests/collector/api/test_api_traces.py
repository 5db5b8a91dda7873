"""Trace endpoints: one trace with spans and assessments, search with filter and paging, experiments."""

from __future__ import annotations

import httpx

from api_test_support import send_trace
from otel_feedback_collector.server import CollectorServer


def test_get_trace_returns_summary_spans_and_current_assessments(collector: CollectorServer, client: httpx.Client) -> None:
    sent = send_trace(collector, question="Why?", answer="Because.")
    first = client.post(f"/traces/{sent.trace_id}/assessments", json={"name": "user_feedback", "value": True}).json()
    client.post(f"/traces/{sent.trace_id}/assessments/{first['assessment_id']}/override", json={"value": False})
    score = client.post(
        f"/traces/{sent.trace_id}/assessments", json={"name": "accuracy_score", "value": 0.75, "span_id": sent.llm_span_id}
    ).json()
    answer = client.get(f"/traces/{sent.trace_id.upper()}")
    assert answer.status_code == 200
    detail = answer.json()
    trace = detail["trace"]
    assert trace["trace_id"] == sent.trace_id
    assert (trace["name"], trace["request_preview"], trace["response_preview"]) == ("chat_app", "Why?", "Because.")
    assert (trace["span_count"], trace["input_tokens"], trace["experiment"], trace["service_name"]) == (2, 7, "chatbot", "chatbot")
    assert trace["start_time"].endswith("Z") and trace["status"] == "UNSET"
    assert trace["assessments"] == {"user_feedback": False, "accuracy_score": 0.75}
    spans = {span["span_id"]: span for span in detail["spans"]}
    assert set(spans) == {sent.root_span_id, sent.llm_span_id}
    llm = spans[sent.llm_span_id]
    assert llm["parent_span_id"] == sent.root_span_id and llm["span_type"] == "LLM"
    assert llm["attributes"] == {"openinference.span.kind": "LLM", "gen_ai.usage.input_tokens": 7}
    assert llm["resource_attributes"]["service.name"] == "chatbot"
    assert llm["events"] == [] and llm["links"] == []
    assert [a["name"] for a in detail["assessments"]] == ["user_feedback", "accuracy_score"]
    assert detail["assessments"][1] == score
    assert detail["assessments"][0]["action"] == "override"


def test_list_and_search_traces_with_filter_and_paging(collector: CollectorServer, client: httpx.Client) -> None:
    sent = [send_trace(collector, question=f"question {n}", service="bot_a" if n < 3 else "bot_b") for n in range(5)]
    client.post(f"/traces/{sent[1].trace_id}/assessments", json={"name": "user_feedback", "value": False})
    collector.store.flush()

    everything = client.get("/traces").json()
    assert everything["next_page_token"] is None
    assert [t["trace_id"] for t in everything["traces"]] == [s.trace_id for s in reversed(sent)]

    page_1 = client.get("/traces", params={"max_results": 2, "experiment": "bot_a"}).json()
    assert len(page_1["traces"]) == 2 and page_1["next_page_token"]
    page_2 = client.get(
        "/traces", params={"max_results": 2, "experiment": "bot_a", "page_token": page_1["next_page_token"]}
    ).json()
    assert page_2["next_page_token"] is None
    assert [t["trace_id"] for t in page_1["traces"] + page_2["traces"]] == [s.trace_id for s in reversed(sent[:3])]

    filtered = client.get("/traces", params={"filter": "assessments.user_feedback = false"}).json()
    assert [t["trace_id"] for t in filtered["traces"]] == [sent[1].trace_id]
    assert filtered["traces"][0]["assessments"] == {"user_feedback": False}

    searched = client.post(
        "/traces/search", json={"filter": "assessments.user_feedback = false", "order_by": "start_time ASC"}
    ).json()
    assert searched == filtered
    oldest_first = client.post("/traces/search", json={"order_by": ["start_time ASC"], "max_results": 1}).json()
    assert [t["trace_id"] for t in oldest_first["traces"]] == [sent[0].trace_id]
    assert client.post("/traces/search", content=b"", headers={"Content-Type": "application/json"}).json() == everything


def test_experiments_count_traces(collector: CollectorServer, client: httpx.Client) -> None:
    assert client.get("/experiments").json() == {"experiments": []}
    send_trace(collector, service="bot_a")
    send_trace(collector, service="bot_a")
    send_trace(collector, service="bot_b")
    experiments = client.get("/experiments").json()["experiments"]
    assert [(e["name"], e["trace_count"]) for e in experiments] == [("bot_b", 1), ("bot_a", 2)]
    assert all(e["last_trace_time"].endswith("Z") for e in experiments)


def test_a_huge_root_text_reads_back_whole_and_is_not_copied_into_the_index(
    collector: CollectorServer, client: httpx.Client
) -> None:
    question = "<b>long</b> " * 200_000  # 2.4 MB, far above the index's limit for root texts
    sent = send_trace(collector, question=question, answer="short answer")
    small = send_trace(collector, question="small question", answer="small answer")
    listed = {t["trace_id"]: t for t in client.get("/traces", params={"max_results": 50}).json()["traces"]}
    assert (listed[sent.trace_id]["request"], listed[sent.trace_id]["response"]) == (question, "short answer")
    assert (listed[small.trace_id]["request"], listed[small.trace_id]["response"]) == ("small question", "small answer")
    one = client.get(f"/traces/{sent.trace_id}").json()
    assert one["trace"]["request"] == question
    with collector.store.reading() as connection:
        stored = dict(
            (trace_id, (request, response))
            for trace_id, request, response in connection.execute(
                "SELECT trace_id, root_request, root_response FROM trace_index"
            ).fetchall()
        )
    assert stored[sent.trace_id] == (None, "short answer")
    assert stored[small.trace_id] == ("small question", "small answer")
