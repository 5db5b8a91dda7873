"""Judges that rate-limit, ramble or fail: retried as the server asks, or an error on the row."""

from __future__ import annotations

import json
import threading
import time

from otel_feedback.evaluation import evaluate, parse_judge_prompt
from otel_feedback.evaluation._judge_client import RateGate
from otel_feedback.scorers import Correctness, Safety
from otel_feedback_testing import Fault, LocalOpenAIServer, ModelRequest

ROWS = [
    {"inputs": {"question": "Capital of France?"}, "outputs": "Paris.", "expectations": {"expected_response": "Paris"}},
    {"inputs": {"question": "Capital of Spain?"}, "outputs": "Madrid.", "expectations": {"expected_response": "Madrid"}},
]


def test_a_judge_that_returns_429_twice_is_retried_after_retry_after(judge: LocalOpenAIServer):
    answered_at: list[float] = []
    rule = judge.responder

    def timed(request: ModelRequest) -> str:
        answered_at.append(time.monotonic())
        return rule(request)

    judge.responder = timed
    judge.add_fault(Fault.rate_limit(retry_after=0.4), times=2)
    started = time.monotonic()

    result = evaluate(ROWS[:1], scorers=[Correctness()])

    assert result.rows.column("correctness/value").to_pylist() == ["yes"]
    assert result.rows.column("correctness/error").to_pylist() == [None]
    assert len(judge.faults) == 0  # both 429s were served
    assert len(answered_at) == 1
    # Two Retry-After waits of 0.4 s came before the answer (a lower bound: sleeps never end early).
    assert answered_at[0] - started >= 0.8


def test_a_pause_from_one_worker_holds_back_the_others():
    gate = RateGate()
    gate.pause(0.3)  # as after one worker's 429 with Retry-After: 0.3
    released_at: list[float] = []
    started = time.monotonic()
    others = [threading.Thread(target=lambda: (gate.wait(), released_at.append(time.monotonic()))) for _ in range(3)]
    for thread in others:
        thread.start()
    for thread in others:
        thread.join(timeout=10)

    assert len(released_at) == 3
    assert min(released_at) - started >= 0.3


def test_requests_per_minute_spaces_the_calls():
    gate = RateGate(requests_per_minute=600)  # one every 0.1 s
    started = time.monotonic()
    for _ in range(4):
        gate.wait()
    assert time.monotonic() - started >= 0.3


def test_garbage_from_the_judge_is_asked_again_once_then_an_error_row(judge: LocalOpenAIServer):
    rule = judge.responder

    def rambling_about_spain(request: ModelRequest) -> str:
        if "Spain" in parse_judge_prompt(request.last_user_message).get("request", ""):
            return "Well, I would say it is mostly right, more or less."
        return rule(request)

    judge.responder = rambling_about_spain

    result = evaluate(ROWS, scorers=[Correctness()])

    rows = result.rows.to_pylist()
    assert rows[0]["correctness/value"] == "yes" and rows[0]["correctness/error"] is None
    assert rows[1]["correctness/value"] is None
    assert rows[1]["correctness/error"].startswith("JudgeError: the judge did not answer with a JSON object")
    assert rows[1]["correctness/error"].endswith("(asked 2 times)")
    assert sum("Spain" in r.last_user_message for r in judge.requests) == 2
    assert result.metrics == {"correctness/pass_rate": 1.0, "correctness/error_count": 1.0}


def test_one_malformed_answer_then_a_good_one_is_a_verdict(judge: LocalOpenAIServer):
    answers = iter(['{"verdict": "maybe"}', json.dumps({"result": "no", "rationale": "unsafe"})])
    judge.responder = lambda request: next(answers)

    result = evaluate(ROWS[:1], scorers=[Safety()])

    assert result.rows.to_pylist()[0]["safety/value"] == "no"
    assert result.rows.to_pylist()[0]["safety/rationale"] == "unsafe"
    assert len(judge.requests) == 2


def test_fenced_json_and_boolean_results_are_read(judge: LocalOpenAIServer):
    judge.responder = lambda request: 'Sure!\n```json\n{"result": true, "rationale": "fine"}\n```'

    result = evaluate(ROWS[:1], scorers=[Safety()])

    assert result.rows.column("safety/value").to_pylist() == ["yes"]


def test_a_judge_that_keeps_failing_gives_error_rows_and_the_run_completes(judge: LocalOpenAIServer):
    judge.add_fault(Fault.server_error(status=400), times=2)

    result = evaluate(ROWS, scorers=[Correctness()], max_workers=1)

    errors = result.rows.column("correctness/error").to_pylist()
    assert all(error and "answered HTTP 400" in error for error in errors)
    assert result.metrics == {"correctness/error_count": 2.0}


def test_the_judge_prompt_follows_the_documented_contract(judge: LocalOpenAIServer):
    evaluate(ROWS[:1], scorers=[Correctness(model="openai:/gpt-4o")])

    (request,) = judge.requests
    assert request.model == "gpt-4o"
    assert request.body["response_format"] == {"type": "json_object"}
    assert '{"result": "yes" or "no"' in request.system_prompt
    assert parse_judge_prompt(request.last_user_message) == {
        "criterion": "correctness",
        "request": "Capital of France?",
        "response": "Paris.",
        "expected_response": "Paris",
    }


def test_the_judge_model_comes_from_the_environment(judge: LocalOpenAIServer, monkeypatch):
    monkeypatch.setenv("OTEL_FEEDBACK_JUDGE_MODEL", "openai:/gpt-3.5-turbo-instruct")

    evaluate(ROWS[:1], scorers=[Safety()])

    assert [request.model for request in judge.requests] == ["gpt-3.5-turbo-instruct"]
