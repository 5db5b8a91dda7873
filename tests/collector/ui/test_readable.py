"""readable_text: the question or answer a person reads, not the JSON around it."""

from __future__ import annotations

import json

import pytest

from otel_feedback_collector.storage.schema import PREVIEW_CHARS
from otel_feedback_collector.ui.readable import cut_previews, readable_text, request_and_response

CHAT = {"model": "gpt-4o-mini", "messages": [
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "first question"},
    {"role": "assistant", "content": "first answer"},
    {"role": "user", "content": [{"type": "text", "text": "the last question"}]},
]}


@pytest.mark.parametrize(
    ("value", "role", "expected"),
    [
        ('{"user_question": "What is MLflow?"}', "user", "What is MLflow?"),
        ('{"question": "Why?", "top_k": 3}', "user", "Why?"),
        (json.dumps(CHAT), "user", "the last question"),
        (json.dumps(CHAT["messages"]), "assistant", "first answer"),
        ('{"choices": [{"message": {"role": "assistant", "content": "The answer."}}]}', "assistant", "The answer."),
        ('"a JSON string"', "assistant", "a JSON string"),
        ("plain text, not JSON", "user", "plain text, not JSON"),
        ('{"a": 1, "b": "two"}', "user", "a: 1\nb: two"),
        # A preview cut inside the JSON still gives its first string value.
        ('{"user_question":"What is the capital of Fra', "user", "What is the capital of Fra"),
        ('{"q": "tab\\there', "user", "tab\there"),
        (None, "user", ""),
        # JSON too deep to parse is shown as the text it is.
        ("[" * 5000 + "]" * 5000, "user", "[" * 5000 + "]" * 5000),
    ],
)
def test_readable_text(value: str | None, role: str, expected: str) -> None:
    assert readable_text(value, role=role) == expected


def test_a_row_uses_its_roots_full_values_else_its_previews() -> None:
    row = {"trace_id": "t1", "request_preview": '{"question": "cut', "response_preview": "short"}
    assert request_and_response(row, {}) == ("cut", "short")
    full = {"t1": ('{"question": "the whole question"}', '{"answer": "the whole answer"}')}
    assert request_and_response(row, full) == ("the whole question", "the whole answer")


def test_deeply_nested_json_is_cut_short() -> None:
    text = readable_text(json.dumps({"a": 1, "b": [[[[[[[[[["deep"] * 100]]]]]]]]]}))
    assert text.startswith("a: 1\nb: ") and len(text) < 600


def test_only_rows_with_a_preview_as_long_as_previews_get_need_their_full_values() -> None:
    rows = [
        {"trace_id": "short", "request_preview": '{"q": "hi"}', "response_preview": "yes"},
        {"trace_id": "long-request", "request_preview": "x" * PREVIEW_CHARS, "response_preview": None},
        {"trace_id": "long-response", "request_preview": None, "response_preview": "y" * PREVIEW_CHARS},
    ]
    assert cut_previews(rows) == ["long-request", "long-response"]
