"""Bad filters fail with a FilterError (a ValueError) that points at the bad token."""

from __future__ import annotations

import pytest

from otel_feedback_collector.query import FilterError, search_traces
from otel_feedback_collector.query.filter_parser import parse_filter


@pytest.mark.parametrize(
    ("filter", "message"),
    [
        ("status = ", r"position 9: expected a value .* found the end of the filter"),
        ("status == 'x'", r"position 8: expected a value"),
        ("status 'x'", r"position 7: expected an operator"),
        ("= 'x'", r"position 0: expected a field name"),
        ("status = 'x' OR name = 'y'", r"position 13: OR is not supported"),
        ("status = 'x' name = 'y'", r"position 13: expected AND"),
        ("status = 'unterminated", r"position 9: the string starting here has no closing quote"),
        ("status = LLM", r"position 9: .*quote text values"),
        ("status = 'x' AND", r"position 16: expected a field name"),
        ("span_type IN 'LLM'", r"position 13: expected \( after IN"),
        ("span_type IN ('LLM' 'TOOL')", r"position 20: expected , or \)"),
        ("span_type IN ('LLM', null)", r"position 21: null cannot be in an IN list"),
        ("span_type IS 'LLM'", r"position 13: expected NULL after IS"),
        ("name LIKE 5", r"position 10: LIKE needs a quoted pattern"),
        ("total_tokens > null", r"null can only be compared with = or !="),
        ("status = 'x' # y", r"position 13: unexpected character '#'"),
    ],
)
def test_syntax_errors_name_the_position(filter: str, message: str):
    with pytest.raises(FilterError, match=message):
        parse_filter(filter)


@pytest.mark.parametrize(
    ("filter", "message"),
    [
        ("bogus = 1", r"position 0: unknown field 'bogus'"),
        ("span.bogus = 'x'", r"unknown field 'span.bogus'"),
        ("status = 1", r"\(1\): status is text; write the value in quotes"),
        ("total_tokens > '100'", r"total_tokens is a number"),
        ("total_tokens LIKE '1%'", r"LIKE works on text fields"),
        ("start_time > 5", r"start_time is a timestamp"),
        ("start_time > 'yesterday'", r"'yesterday' is not a date or time"),
        ("assessments.user_feedback > true", r"true/false can only be compared with = or !="),
        ("assessments.score LIKE 5", r"LIKE needs a quoted pattern"),
        ("metadata.`a\"b` = 'x'", r"no quotes or backslashes"),
        ("span_count = true", r"span_count is a number"),
    ],
)
def test_field_errors_say_what_to_write(connection, filter: str, message: str):
    with pytest.raises(FilterError, match=message):
        search_traces(connection, filter=filter)


def test_filter_error_is_a_value_error():
    assert issubclass(FilterError, ValueError)


def test_an_empty_filter_means_no_condition():
    assert parse_filter("") == [] and parse_filter("   ") == []


def test_keywords_and_operators_are_case_insensitive_and_not_equal_has_two_spellings():
    clauses = parse_filter("status <> 'OK' and name like 'a%' AND span_type is not null")
    assert [clause.op for clause in clauses] == ["!=", "LIKE", "IS NOT NULL"]
    assert clauses[0].literals[0].value == "OK"


def test_literals_keep_their_types():
    (clause,) = parse_filter("x IN ('it''s', 3, -2.5, 1e3, true, false)")
    assert [literal.value for literal in clause.literals] == ["it's", 3, -2.5, 1000.0, True, False]
