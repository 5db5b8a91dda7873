"""The tutorial's step 5 in a real browser: an expert reviews the thumbs-down trace.

Schemas and a session are created in code (as the tutorial does), the thumbs-down trace is added,
an assigned reviewer signs in to the review app in headless Chromium, opens ``session.url``,
sees the question, the answer and the end user's feedback, picks "Accurate", writes the expected
response and submits. ``search_traces(labeling_session=...)`` then shows both labels with the
reviewer as source. An unassigned user is refused; an invalid answer is refused and stores nothing.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parent / "otel_feedback"))
sys.path.insert(0, str(Path(__file__).resolve().parent / "collector" / "ui"))

from collector_session import configured_endpoint  # noqa: E402
from ui_support import make_demo_data  # noqa: E402

from otel_feedback_collector.catalog import CatalogDatabase  # noqa: E402
from otel_feedback_collector.catalog.users import add_user  # noqa: E402
from otel_feedback_collector.labeling.conversation import as_text  # noqa: E402
from otel_feedback_collector.server import CollectorServer  # noqa: E402
from otel_feedback import search_traces  # noqa: E402
from otel_feedback_collector.demo.runner import END_USER, THUMBS_DOWN_RATIONALE  # noqa: E402
from otel_feedback.label_schemas import InputCategorical, InputText, create_label_schema  # noqa: E402
from otel_feedback.labeling import COMPLETED, create_labeling_session  # noqa: E402

EXPECTED = (
    "MLflow is an open-source platform for managing the machine learning lifecycle, including experiment "
    "tracking, model registry, packaging, deployment, and evaluation."
)


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorServer]:
    data = make_demo_data(tmp_path)  # in a subprocess: the demo configures the SDK of its process
    catalog = CatalogDatabase(data)
    add_user(catalog, "expert", password="tutorial-pw-first-1")
    add_user(catalog, "outsider", password="tutorial-pw-second-2")
    with CollectorServer(data, port=0, grpc_port=None) as server:
        with configured_endpoint(server.http_url):
            yield server


def sign_in(page: Any, url: str, name: str, password: str) -> None:
    page.goto(url)
    expect(page).to_have_url(re.compile(r".*/review/signin\?next="))
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_expert_reviews_the_tutorial_trace_in_the_review_app(
    collector: CollectorServer, browser: Any, tmp_path: Path
) -> None:
    accuracy = create_label_schema(
        name="response_accuracy",
        type="feedback",
        title="Is the response factually accurate?",
        input=InputCategorical(options=["Accurate", "Partially Accurate", "Inaccurate"]),
        overwrite=True,
    )
    ideal = create_label_schema(
        name="expected_response", type="expectation", title="What would be the ideal response?",
        input=InputText(), overwrite=True,
    )
    session = create_labeling_session(
        name="quickstart_review", label_schemas=[accuracy.name, ideal.name], assigned_users=["expert"]
    )
    traces = search_traces(filter="assessments.user_feedback = false", max_results=1)
    assert session.add_traces(traces) == 1
    trace_id = traces.column("trace_id")[0].as_py()
    assert session.url == f"{collector.http_url}/review/sessions/{session.id}"

    # An unassigned user is refused.
    outsider = browser.new_page()
    sign_in(outsider, session.url, "outsider", "tutorial-pw-second-2")
    expect(outsider.locator("h1")).to_have_text("Not assigned")
    outsider.close()

    page = browser.new_page()
    sign_in(page, session.url, "expert", "tutorial-pw-first-1")
    expect(page).to_have_url(session.url)
    expect(page.locator("#my-progress")).to_have_text("0 of 1 done")
    page.locator("#start").click()
    expect(page.locator("#question")).to_have_text(as_text(traces.column("request")[0].as_py()))
    expect(page.locator("#answer")).not_to_be_empty()
    expect(page.locator("#feedback")).to_contain_text("user_feedback = false")
    expect(page.locator("#feedback")).to_contain_text(THUMBS_DOWN_RATIONALE)
    expect(page.locator("#feedback")).to_contain_text(END_USER)

    # Invalid: a number is not an option (the browser would not offer it, so post it by hand).
    answer = page.request.post(
        page.url,
        form={"csrf_token": page.locator("input[name=csrf_token]").first.input_value(),
              "answer:response_accuracy": "Mostly", "action": "submit"},
        headers={"Origin": collector.http_url},
        max_redirects=0,
    )
    assert answer.status == 422
    assert "&#39;Mostly&#39; is not one of the options" in answer.text()

    page.get_by_label("Accurate", exact=True).check()
    page.get_by_label("What would be the ideal response?").fill(EXPECTED)
    page.get_by_role("button", name="Submit").click()
    expect(page).to_have_url(session.url + "?saved=1")
    expect(page.locator("#saved")).to_have_text("Saved: your answers to item 1 are stored.")
    expect(page.locator("#my-progress")).to_have_text("1 of 1 done")

    labeled = search_traces(labeling_session=session, return_type="list")
    assert [row["trace_id"] for row in labeled] == [trace_id]
    row = labeled[0]
    assert row["assessments.response_accuracy"] == "Accurate"
    assert row["assessments.expected_response"] == EXPECTED
    assert row["assessments.user_feedback"] is False
    labels = {label["name"]: label for label in row["labels"]}
    assert labels["response_accuracy"]["value"] == "Accurate"
    assert labels["expected_response"]["value"] == EXPECTED
    assert {label["source_id"] for label in labels.values()} == {"expert"}
    assert [item.state_of("expert") for item in session.items] == [COMPLETED]

    # The labels become ground truth for evaluation (the tutorial's step 6 starts from here).
    dataset = session.sync(to_dataset="quickstart_review", data_dir=tmp_path / "datasets")
    [record] = dataset.records
    assert record.source_trace_id == trace_id
    assert record.expectations == {"expected_response": EXPECTED}
    assert record.inputs == row["request"]

    # Stored as assessments with a HUMAN source, the reviewer and the session id; nothing from
    # the refused submission.
    connection = collector.store.connect()
    try:
        rows = connection.execute(
            "SELECT name, type, source_type, source_id, json_extract_string(metadata, '$.labeling_session_id') "
            "FROM assessment_log WHERE trace_id = ? AND source_id = 'expert' ORDER BY name", [trace_id]
        ).fetchall()
    finally:
        connection.close()
    assert rows == [
        ("expected_response", "expectation", "HUMAN", "expert", session.id),
        ("response_accuracy", "feedback", "HUMAN", "expert", session.id),
    ]
