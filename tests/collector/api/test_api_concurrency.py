"""Concurrent writers lose nothing: threads post feedback while spans stream in over OTLP."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from api_test_support import log_rows, send_trace
from otel_feedback_collector.server import CollectorServer

WRITERS = 8
POSTS_PER_WRITER = 25


def test_feedback_from_8_threads_while_spans_stream_in_loses_nothing(collector: CollectorServer) -> None:
    targets = [send_trace(collector) for _ in range(4)]
    stop_streaming = threading.Event()
    streamed: list[str] = []

    def stream_spans() -> None:
        while not stop_streaming.is_set():
            streamed.append(send_trace(collector, flush=False).trace_id)

    def post_feedback(writer: int) -> list[tuple[int, str]]:
        answers = []
        with httpx.Client(base_url=f"{collector.http_url}/api/v1", timeout=60) as http:
            for number in range(POSTS_PER_WRITER):
                target = targets[(writer + number) % len(targets)]
                answer = http.post(
                    f"/traces/{target.trace_id}/assessments",
                    json={
                        "name": f"writer_{writer}",
                        "value": number,
                        "assessment_id": f"w{writer}-n{number}",
                        "span_id": target.llm_span_id if number % 2 else None,
                    },
                )
                answers.append((answer.status_code, answer.json().get("assessment_id", answer.text)))
        return answers

    streamer = threading.Thread(target=stream_spans)
    streamer.start()
    try:
        with ThreadPoolExecutor(WRITERS) as pool:
            results = [answer for answers in pool.map(post_feedback, range(WRITERS)) for answer in answers]
    finally:
        stop_streaming.set()
        streamer.join()

    assert [status for status, _ in results] == [201] * (WRITERS * POSTS_PER_WRITER)
    expected = {f"w{w}-n{n}" for w in range(WRITERS) for n in range(POSTS_PER_WRITER)}
    assert {assessment_id for _, assessment_id in results} == expected
    rows = log_rows(collector)
    assert len(rows) == WRITERS * POSTS_PER_WRITER
    assert {row["assessment_id"] for row in rows} == expected
    assert {row["value"] for row in rows if row["assessment_id"] == "w3-n7"} == {"7"}
    # The spans streamed meanwhile all arrived too.
    assert streamed
    connection = collector.store.connect()
    try:
        found = connection.execute(
            "SELECT count(DISTINCT trace_id) FROM spans WHERE trace_id IN (SELECT unnest(?))", [streamed]
        ).fetchone()
    finally:
        connection.close()
    assert found == (len(streamed),)


def test_racing_deletes_of_one_assessment_write_one_row(collector: CollectorServer) -> None:
    sent = send_trace(collector)
    url = f"{collector.http_url}/api/v1/traces/{sent.trace_id}/assessments"
    created = httpx.post(url, json={"name": "thumbs", "value": True}).json()
    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(lambda _: httpx.delete(f"{url}/{created['assessment_id']}").status_code, range(8)))
    assert statuses == [200] + [404] * 7
    assert [row["action"] for row in log_rows(collector, "trace_id = ?", [sent.trace_id])] == ["create", "delete"]


def test_racing_replays_of_one_id_store_it_once(collector: CollectorServer) -> None:
    sent = send_trace(collector)
    url = f"{collector.http_url}/api/v1/traces/{sent.trace_id}/assessments"
    body = {"name": "thumbs", "value": False, "assessment_id": "same-id-1"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: httpx.post(url, json=body), range(8)))
    assert sorted(answer.status_code for answer in answers) == [200] * 7 + [201]
    assert len({answer.content for answer in answers}) == 1
    assert len(log_rows(collector, "assessment_id = ?", ["same-id-1"])) == 1
