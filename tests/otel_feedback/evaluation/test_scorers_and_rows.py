"""Custom and deterministic scorers, predict_fn runs, and the feedback each score becomes."""

from __future__ import annotations

import json

import pytest

from otel_feedback import Feedback, SpanType, trace
from otel_feedback.evaluation import RUN_ID_ATTRIBUTE, evaluate
from otel_feedback.scorers import ExactMatch, ExpectedFactsCoverage, RetrievalGroundedness, scorer
from otel_feedback_testing import LocalOpenAIServer


@trace(span_type=SpanType.RETRIEVER)
def _search_docs(question: str) -> list[str]:
    return [f"Doc: {question} is answered in the manual."]


@trace
def _app(question: str) -> str:
    return f"From the manual: {_search_docs(question)[0]}"


def _exploding_app(question: str) -> str:
    raise RuntimeError(f"no answer for {question}")


def test_custom_scorers_return_any_of_the_documented_kinds(spans):
    @scorer
    def is_short(outputs) -> bool:
        return len(outputs) < 20

    @scorer(name="length")
    def word_count(outputs) -> int:
        return len(outputs.split())

    @scorer
    def tone(inputs, outputs, expectations, trace) -> str:
        return "formal" if outputs.endswith(".") else "casual"

    @scorer
    def checks(outputs, expectations):
        return [
            Feedback(name="mentions_paris", value="Paris" in outputs, rationale="looked for Paris"),
            Feedback(name="matches", value=outputs == expectations["expected_response"]),
        ]

    rows = [
        {"inputs": {"q": "France?"}, "outputs": "Paris.", "expectations": {"expected_response": "Paris."}},
        {"inputs": {"q": "Spain?"}, "outputs": "It is Madrid, of course, everyone knows", "expectations": {"expected_response": "Madrid"}},
    ]
    result = evaluate(rows, scorers=[is_short, word_count, tone, checks])

    table = result.rows.to_pylist()
    assert [row["is_short/value"] for row in table] == [True, False]
    assert [row["length/value"] for row in table] == [1, 7]
    assert [row["tone/value"] for row in table] == ["formal", "casual"]
    assert [row["mentions_paris/value"] for row in table] == [True, False]
    assert [row["mentions_paris/rationale"] for row in table] == ["looked for Paris", "looked for Paris"]
    assert [row["matches/value"] for row in table] == [True, False]
    assert result.metrics == {
        "is_short/pass_rate": 0.5, "is_short/error_count": 0.0,
        "length/mean": 4.0, "length/error_count": 0.0,
        "tone/error_count": 0.0,
        "mentions_paris/pass_rate": 0.5, "mentions_paris/error_count": 0.0,
        "matches/pass_rate": 0.5, "matches/error_count": 0.0,
    }


def test_a_failing_custom_scorer_is_an_error_on_its_row_and_others_still_score():
    @scorer
    def fussy(outputs) -> bool:
        if "Madrid" in outputs:
            raise KeyError("madrid is not in my table")
        return True

    rows = [{"inputs": {"q": "a"}, "outputs": "Paris"}, {"inputs": {"q": "b"}, "outputs": "Madrid"}]
    result = evaluate(rows, scorers=[fussy, ExactMatch()])

    table = result.rows.to_pylist()
    assert [row["fussy/value"] for row in table] == [True, None]
    assert [row["fussy/error"] for row in table] == [None, "KeyError: 'madrid is not in my table'"]
    assert [row["exact_match/error"] for row in table] == [
        "ScorerInputMissing: exact_match needs an 'expected_response' expectation"
    ] * 2
    assert result.metrics == {"fussy/pass_rate": 1.0, "fussy/error_count": 1.0, "exact_match/error_count": 2.0}


def test_a_scorer_returning_nothing_useful_is_an_error():
    @scorer
    def forgetful(outputs):
        return None

    result = evaluate([{"inputs": {"q": "a"}, "outputs": "x"}], scorers=[forgetful])

    assert "returned None" in result.rows.column("forgetful/error")[0].as_py()


def test_exact_match_and_expected_facts_coverage():
    rows = [
        {"inputs": {"q": "a"}, "outputs": "Paris  is the capital.",
         "expectations": {"expected_response": "paris is the capital.", "expected_facts": ["Paris", "capital", "France"]}},
        {"inputs": {"q": "b"}, "outputs": "Rome",
         "expectations": {"expected_response": "Madrid", "expected_facts": ["Madrid"]}},
    ]
    result = evaluate(rows, scorers=[ExactMatch(), ExpectedFactsCoverage()])

    table = result.rows.to_pylist()
    assert [row["exact_match/value"] for row in table] == [True, False]
    assert [row["expected_facts_coverage/value"] for row in table] == [2 / 3, 0.0]
    assert [row["expected_facts_coverage/rationale"] for row in table] == ["Missing: France", "Missing: Madrid"]
    assert result.metrics["expected_facts_coverage/mean"] == (2 / 3) / 2
    assert ExactMatch(case_sensitive=True)(outputs="Paris", expectations={"expected_response": "paris"}) is False


def test_predict_fn_traces_are_the_rows_traces_and_retrieval_scorers_read_them(judge: LocalOpenAIServer, spans, log_records):
    @scorer
    def retrieved(trace) -> int:
        return len(trace.retrieved_documents())

    rows = [{"inputs": {"question": "Refunds?"}}, {"inputs": {"question": "Shipping?"}}]
    result = evaluate(rows, predict_fn=_app, scorers=[RetrievalGroundedness(), retrieved], experiment="eval-exp")

    table = result.rows.to_pylist()
    assert [row["outputs"] for row in table] == [
        "From the manual: Doc: Refunds? is answered in the manual.",
        "From the manual: Doc: Shipping? is answered in the manual.",
    ]
    assert [row["retrieved/value"] for row in table] == [1, 1]
    assert [row["retrieval_groundedness/value"] for row in table] == ["yes", "yes"]
    judged_context = [r for r in judge.requests if "Refunds?" in r.last_user_message][0].last_user_message
    assert "<context>\n[1] Doc: Refunds? is answered in the manual.\n</context>" in judged_context

    roots = {span.context.trace_id: span for span in spans.all() if span.attributes.get(RUN_ID_ATTRIBUTE)}
    assert {format(trace_id, "032x") for trace_id in roots} == {row["trace_id"] for row in table}
    for root in roots.values():
        assert root.parent is None and root.name == "_app"
        assert root.attributes["otel_feedback.experiment"] == "eval-exp"
    # Each score went out as feedback on the row's trace, tagged with the run.
    events = [(record.log_record.trace_id, record.log_record.attributes) for record in log_records.all()
              if record.log_record.event_name == "gen_ai.evaluation.result"]
    assert len(events) == 4
    for trace_id, attributes in events:
        assert trace_id in roots
        assert json.loads(attributes["otel_feedback.assessment.metadata"])["run_id"] == result.run_id
    sources = {(a["gen_ai.evaluation.name"], a["otel_feedback.assessment.source.type"], a["otel_feedback.assessment.source.id"])
               for _, a in events}
    assert sources == {("retrieval_groundedness", "LLM_JUDGE", "retrieval_groundedness"), ("retrieved", "CODE", "retrieved")}


def test_a_failing_predict_fn_marks_its_row_and_the_run_completes(spans):
    rows = [{"inputs": {"question": "a"}}, {"inputs": "not a dict"}]
    result = evaluate(rows, predict_fn=_exploding_app, scorers=[ExactMatch()])

    table = result.rows.to_pylist()
    assert table[0]["predict_error"] == "RuntimeError: no answer for a"
    assert table[0]["exact_match/error"] == "predict_fn failed: RuntimeError: no answer for a"
    assert table[0]["trace_id"] is not None  # the failed call is still a trace, with the error recorded
    assert "predict_fn(**inputs)" in table[1]["predict_error"]
    assert result.metrics == {"exact_match/error_count": 2.0}


def test_bad_arguments_are_rejected_with_a_plain_sentence():
    rows = [{"inputs": {"q": "a"}, "outputs": "x"}]
    with pytest.raises(ValueError, match="at least one scorer"):
        evaluate(rows, scorers=[])
    with pytest.raises(ValueError, match="is not a scorer"):
        evaluate(rows, scorers=[ExactMatch])
    with pytest.raises(ValueError, match="share the name"):
        evaluate(rows, scorers=[ExactMatch(), ExactMatch()])
    with pytest.raises(ValueError, match="max_workers must be a positive integer"):
        evaluate(rows, scorers=[ExactMatch()], max_workers=0)
    with pytest.raises(ValueError, match="needs 'inputs'"):
        evaluate([{"question": "a"}], scorers=[ExactMatch()])
    with pytest.raises(TypeError, match="cannot be given"):
        scorer(lambda response: True)
