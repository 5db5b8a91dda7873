"""The "collect human feedback in 10 minutes" tutorial, step by step, in otel-feedback's API.

Run it against a running collector — the demo's (``make demo`` prints its URL) or
``otel-feedback serve``::

    .venv/bin/python examples/quickstart.py --collector http://127.0.0.1:4318
    # and, to let the script play the expert too (the demo prints this reviewer's password):
    .venv/bin/python examples/quickstart.py --reviewer demo_expert --password PASSWORD

Without ``OPENAI_API_KEY`` the model and the judge are local stand-ins (OpenAI-compatible servers
started by this script, announced as such). Without ``--reviewer`` the script stops after step 5
and prints the review app's URL: review there, then run step 6 yourself.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import ExitStack
from typing import Any

import openai

import otel_feedback
import otel_feedback.openai
from otel_feedback import AssessmentSource, AssessmentSourceType, trace
from otel_feedback_collector.demo.simulated_review import submit_review
from otel_feedback_collector.demo.stand_in_judge import stand_in_judge_responder
from otel_feedback_collector.demo.tutorial_app import stand_in_responder
from otel_feedback.label_schemas import InputCategorical, InputText, create_label_schema
from otel_feedback.labeling import create_labeling_session
from otel_feedback.scorers import Correctness

EXPECTED_RESPONSE = (
    "OpenTelemetry is an open standard and set of SDKs for traces, metrics and logs, and any OTLP "
    "backend can receive its data."
)


def wait_for_trace(trace_id: str, *, timeout: float = 15.0) -> Any:
    """The trace as ``search_traces`` returns it, once the collector has made it queryable
    (spans are written in batches, so a just-exported trace can take a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        traces = otel_feedback.search_traces(filter=f"trace_id = '{trace_id}'", max_results=1)
        if traces.num_rows or time.monotonic() > deadline:
            return traces
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    """Run the tutorial's steps 1, 2, 5 and (with a reviewer) the review and step 6."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collector", default="http://127.0.0.1:4318", help="the collector's HTTP URL")
    parser.add_argument("--reviewer", help="a review-app user to submit the expert's answers as")
    parser.add_argument("--password", help="that user's password")
    args = parser.parse_args(argv)

    with ExitStack() as stack:
        # Step 1: create and trace a simple app.
        otel_feedback.configure(args.collector, service_name="quickstart", experiment="quickstart")
        otel_feedback.openai.autolog()  # auto-tracing for OpenAI
        if os.environ.get("OPENAI_API_KEY"):
            client, model_name = openai.OpenAI(), "gpt-4o-mini"
        else:
            from otel_feedback_testing import LocalOpenAIServer

            model = stack.enter_context(LocalOpenAIServer(responder=stand_in_responder))
            judge = stack.enter_context(LocalOpenAIServer(responder=stand_in_judge_responder))
            os.environ["OPENAI_BASE_URL"] = judge.base_url  # where Correctness() asks its judge
            print(f"No OPENAI_API_KEY: STAND-IN model at {model.base_url}, STAND-IN judge at {judge.base_url}")
            client, model_name = openai.OpenAI(base_url=model.base_url, api_key="stand-in"), "gpt-4o-mini"

        @trace
        def my_chatbot(user_question: str) -> str:
            # Retrieve relevant context, then generate the response with the LLM.
            context = retrieve_context(user_question)
            response = client.chat.completions.create(
                model=model_name,
                messages=[
                    {"role": "system", "content": "You are a helpful assistant. Use the provided context to answer questions."},
                    {"role": "user", "content": f"Context: {context}\n\nQuestion: {user_question}"},
                ],
                temperature=0.7,
                max_tokens=150,
            )
            return response.choices[0].message.content

        @trace(span_type="RETRIEVER")
        def retrieve_context(query: str) -> str:
            # Simulated retrieval: in production, this would search a vector database.
            if "opentelemetry" in query.lower():
                return ("OpenTelemetry is an open standard and set of SDKs for traces, metrics and logs. "
                        "Any OTLP backend can receive its data, so instrumentation is written once.")
            return "General information about machine learning and data science."

        response = my_chatbot("What is OpenTelemetry?")
        print(f"Response: {response}")
        trace_id = otel_feedback.get_last_active_trace_id()
        print(f"Trace ID: {trace_id}")

        # Step 2: collect end-user feedback (a thumbs-down, simulated with the SDK).
        otel_feedback.log_feedback(
            trace_id=trace_id,
            name="user_feedback",
            value=False,  # False for thumbs down: the user is unsatisfied
            rationale="Missing details about which backends can receive the data",
            source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="enduser_123"),
        )
        otel_feedback.flush()
        print("End-user feedback recorded!")

        # Steps 3 and 4 happen in the web UI.
        print(f"See it: {args.collector}/traces/{trace_id} (Assessments panel; 'Add assessment' for step 4)")

        # Step 5: send the trace for expert review.
        accuracy_schema = create_label_schema(
            name="response_accuracy",
            type="feedback",
            title="Is the response factually accurate?",
            input=InputCategorical(options=["Accurate", "Partially Accurate", "Inaccurate"]),
            overwrite=True,
        )
        ideal_response_schema = create_label_schema(
            name="expected_response",
            type="expectation",
            title="What would be the ideal response?",
            input=InputText(),
            overwrite=True,
        )
        labeling_session = create_labeling_session(
            name="quickstart_review",
            label_schemas=[accuracy_schema.name, ideal_response_schema.name],
            assigned_users=[args.reviewer] if args.reviewer else None,
        )
        traces = wait_for_trace(trace_id)
        labeling_session.add_traces(traces)
        print("Trace sent for review!")
        print(f"Share this link with reviewers: {labeling_session.url}")

        if not args.reviewer:
            print("Review it there (otel-feedback users add NAME gives a reviewer a password), then evaluate "
                  "as in step 6; or rerun with --reviewer NAME --password PASSWORD to simulate the expert.")
            return 0
        # A SIMULATED expert: the review app's own sign-in and form, posted over HTTP.
        submit_review(labeling_session.url, reviewer=args.reviewer, password=args.password or "",
                      answers={"response_accuracy": "Accurate", "expected_response": EXPECTED_RESPONSE})
        print(f"Simulated expert {args.reviewer!r} submitted the review.")

        # Step 6: use the feedback to evaluate the app.
        labeled_traces = otel_feedback.search_traces(labeling_session=labeling_session)
        eval_results = otel_feedback.evaluate(
            data=labeled_traces,
            predict_fn=my_chatbot,  # the app from step 1
            scorers=[Correctness()],  # compares outputs to expected_response
        )
        for row in eval_results.rows.to_pylist():
            print(f"{row['trace_id']}: correctness = {row['correctness/value']} ({row['correctness/rationale']})")
        print(f"Metrics: {eval_results.metrics}")
        otel_feedback.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
