"""The sessions, conversation and charts pages and the span search endpoint over plain HTTP:
hostile strings shown as text, experiment names with a slash, empty states and bad requests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
from ui_support import REPO, send_trace

from otel_feedback_collector.pricing import load_price_table
from otel_feedback_collector.server import CollectorServer

HOSTILE = "<script>alert(1)</script>"


def get(server: CollectorServer, path: str, **params: str) -> httpx.Response:
    return httpx.get(server.http_url + path, params=params, timeout=30)


def test_hostile_session_ids_questions_and_names_are_text(collector: CollectorServer) -> None:
    trace_id, _root, _child = send_trace(
        collector, service="team/<b>bot</b>", question=json.dumps({"question": HOSTILE}), answer=HOSTILE,
        root_attributes={"session.id": "<i>s/1</i>"}, child_attributes={"gen_ai.request.model": "gpt-4o-mini"},
    )
    base = "/experiments/team/<b>bot</b>"
    for path, params in ((base, {}), (base + "/sessions", {}), (base + "/conversation", {"session": "<i>s/1</i>"}),
                         (base + "/charts", {})):
        page = get(collector, path, **params)
        assert page.status_code == 200, (path, page.text[:300])
        assert "<script>alert" not in page.text and "<b>bot</b>" not in page.text and "<i>s/1</i>" not in page.text
    sessions = get(collector, base + "/sessions").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in sessions and "&lt;i&gt;s/1&lt;/i&gt;" in sessions
    conversation = get(collector, base + "/conversation", session="<i>s/1</i>").text
    assert f'href="/traces/{trace_id}"' in conversation


def test_empty_and_unknown_sessions_say_what_to_do(collector: CollectorServer) -> None:
    send_trace(collector)
    assert "update_current_trace(session=" in get(collector, "/experiments/chatbot/sessions").text.replace("&#34;", '"')
    missing = get(collector, "/experiments/chatbot/conversation", session="nope")
    assert missing.status_code == 404 and "has no session" in missing.text
    assert get(collector, "/experiments/chatbot/conversation").status_code == 404
    assert "No trace of nothing-here yet" in get(collector, "/experiments/nothing-here/charts").text


def test_span_search_endpoint_matches_literally_and_checks_its_input(collector: CollectorServer) -> None:
    trace_id, root, child = send_trace(collector, question="100% sure?", answer="yes", child_name="llm_call")
    search = f"/ui/api/traces/{trace_id}/span-search"
    assert get(collector, search, q="100%").json() == {"span_ids": [root]}
    assert get(collector, search, q="LLM_CALL").json() == {"span_ids": [child]}  # by name, any case
    assert get(collector, search, q="1_0").json() == {"span_ids": []}  # _ is not a wildcard
    assert get(collector, search).status_code == 400
    assert get(collector, "/ui/api/traces/xyz/span-search", q="a").status_code == 400


def test_a_price_file_prices_a_model_the_table_does_not_know(
    tmp_path: Path, start_collector: Callable[..., CollectorServer]
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"house-model": {"input": 2, "output": 4}}))
    server = start_collector(grpc_port=None, prices=load_price_table(prices, environ={}))
    trace_id, _root, child = send_trace(server, child_attributes={
        "gen_ai.request.model": "house-model-v2", "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 500,
    })
    # 1,000 * $2/M + 500 * $4/M = $0.004
    assert 'id="trace-cost" class="cost">$0.004<' in get(server, f"/traces/{trace_id}").text
    span = get(server, f"/ui/api/traces/{trace_id}/spans/{child}").json()
    assert span["cost"] == 0.004 and span["cost_text"] == "$0.004"


def test_serve_refuses_a_bad_price_file_with_what_to_fix(tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text('{"m": {"input": "cheap"}}')
    done = subprocess.run(
        [sys.executable, "-m", "otel_feedback.cli", "serve", "--data", str(tmp_path / "data"), "--port", "0",
         "--grpc-port", "-1", "--prices", str(prices)],
        capture_output=True, text=True, timeout=60, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 2
    assert "the prices of 'm' must be numbers of dollars" in done.stderr


def test_a_long_question_is_read_in_full_from_the_root_span(collector: CollectorServer) -> None:
    question = "Why " + "really " * 60 + "THE END?"  # longer than the 200-character preview
    send_trace(collector, question=json.dumps({"question": question}), answer="Because.")
    table = get(collector, "/experiments/chatbot").text
    assert f'title="{question}"' in table
