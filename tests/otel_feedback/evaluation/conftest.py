"""Fixtures for the evaluation tests: a stand-in judge model following the prompt contract.

The judge is the local OpenAI-compatible server with a rule-based responder: it reads the
tagged sections of the judge prompt (``parse_judge_prompt``) and answers ``yes`` when the
response contains the expected response (correctness), when the context mentions a word of the
request (retrieval relevance), and ``yes`` otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from otel_feedback.evaluation import parse_judge_prompt
from otel_feedback_testing import LocalOpenAIServer, ModelRequest


def _words(text: str) -> set[str]:
    return {word.strip("?.,!").lower() for word in text.split() if len(word.strip("?.,!")) > 3}


def rule_based_verdict(request: ModelRequest) -> str:
    """A JSON verdict decided by simple rules over the prompt's sections."""
    sections = parse_judge_prompt(request.last_user_message)
    criterion = sections.get("criterion")
    if criterion == "correctness":
        expected = sections.get("expected_response", "").strip().lower()
        response = sections.get("response", "").strip().lower()
        if expected and expected in response:
            return json.dumps({"result": "yes", "rationale": "The response states the expected answer."})
        return json.dumps({"result": "no", "rationale": "The response misses the expected answer."})
    if criterion == "retrieval_relevance":
        related = _words(sections.get("request", "")) & _words(sections.get("context", ""))
        return json.dumps({"result": "yes" if related else "no", "rationale": f"shared words: {sorted(related)}"})
    return json.dumps({"result": "yes", "rationale": f"{criterion} looks fine."})


@pytest.fixture
def judge(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalOpenAIServer]:
    """A rule-based judge on a free loopback port; ``OPENAI_BASE_URL`` points at it."""
    with LocalOpenAIServer(responder=rule_based_verdict) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "unused")
        monkeypatch.delenv("OTEL_FEEDBACK_JUDGE_MODEL", raising=False)
        monkeypatch.delenv("OTEL_FEEDBACK_DATA", raising=False)
        yield server
