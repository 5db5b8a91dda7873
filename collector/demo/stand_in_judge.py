"""A stand-in for the LLM judge: answers the judge prompt contract (docs/evaluation.md) by rule.

With no ``OPENAI_API_KEY`` the demo cannot ask a real model whether an answer is correct, so a
local OpenAI-compatible server answers the judge's prompt instead: ``"yes"`` when the response
holds at least half of the key words of the expected response, ``"no"`` otherwise, with a
rationale naming what is missing. It reads the prompt exactly as a model would receive it, so the
evaluation code path (prompt, HTTP call, verdict parsing, feedback logging) is the real one.
"""

from __future__ import annotations

import json
import re

from otel_feedback.evaluation import parse_judge_prompt
from otel_feedback_testing import ModelRequest

PASS_SHARE = 0.5
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]*[a-z0-9]")
_COMMON_WORDS = frozenset(
    "about after also and are because been being both but can does each for from has have how into "
    "its like more most not now only other over same some such than that the their them then there "
    "these they this those through under very was were what when where which while who why will "
    "with would your".split()
)


def key_words(text: str) -> list[str]:
    """The words of ``text`` that carry meaning: lowercase, at least three letters, no common
    words, first occurrence order, no repeats."""
    words = [word for word in _WORD.findall(text.lower()) if len(word) >= 3 and word not in _COMMON_WORDS]
    return list(dict.fromkeys(words))


def correctness_verdict(*, response: str, expected: str) -> tuple[str, str]:
    """``("yes" | "no", rationale)``: does ``response`` hold enough of ``expected``'s key words?"""
    wanted = key_words(expected)
    present = set(key_words(response))
    found = [word for word in wanted if word in present]
    missing = [word for word in wanted if word not in present]
    passed = bool(wanted) and len(found) / len(wanted) >= PASS_SHARE
    rationale = f"The response holds {len(found)} of the {len(wanted)} key words of the expected response"
    rationale += f"; it misses: {', '.join(missing[:8])}." if missing else "."
    return ("yes" if passed else "no"), rationale


def stand_in_judge_responder(request: ModelRequest) -> str:
    """The judge's reply as JSON ``{"result": ..., "rationale": ...}`` (the prompt contract)."""
    sections = parse_judge_prompt(request.last_user_message)
    expected = sections.get("expected_response") or sections.get("expected_facts")
    if "response" not in sections or not expected:
        result, rationale = "no", "The stand-in judge only decides correctness against an expected response."
    else:
        result, rationale = correctness_verdict(response=sections["response"], expected=expected)
    return json.dumps({"result": result, "rationale": rationale})
