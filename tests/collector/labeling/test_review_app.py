"""The review app over HTTP: sign-in, assignment, server-side validation (nothing stored on a
refusal), cross-site protection, item states, resubmission history and agreement on the page."""

from __future__ import annotations

import httpx

from review_support import PASSWORDS, form_token

from otel_feedback_collector.catalog import CatalogDatabase
from otel_feedback_collector.catalog.users import verify_user
from otel_feedback_collector.server import CollectorServer
from otel_feedback.label_schemas import (
    InputCategorical,
    InputNumeric,
    InputText,
    InputTextList,
    create_label_schema,
)
from otel_feedback.labeling import COMPLETED, IN_PROGRESS, PENDING, SKIPPED, create_labeling_session


def _schemas() -> list[str]:
    create_label_schema("accuracy", type="feedback", title="Accurate?",
                        input=InputCategorical(["Accurate", "Inaccurate"]), enable_comment=True)
    create_label_schema("score", type="feedback", title="Score", input=InputNumeric(min_value=0, max_value=1))
    create_label_schema("ideal", type="expectation", title="Ideal answer", input=InputText(max_length=20))
    create_label_schema("facts", type="expectation", title="Facts", input=InputTextList(max_count=2))
    return ["accuracy", "score", "ideal", "facts"]


def _stored(server: CollectorServer, trace_id: str) -> list[tuple[str, str, str | None]]:
    server.store.flush()
    connection = server.store.connect()
    try:
        return connection.execute(
            "SELECT name, action, source_id FROM assessment_log WHERE trace_id = ? AND source_id IN ('alice', 'bob') "
            "ORDER BY created_time_unix_nano, name", [trace_id]).fetchall()
    finally:
        connection.close()


def _post(client: httpx.Client, path: str, fields: dict[str, object], **headers: str) -> httpx.Response:
    token = form_token(client.get(path).text)
    return client.post(path, data={"csrf_token": token, **fields}, headers=headers)  # type: ignore[arg-type]


def test_invalid_answers_are_refused_with_422_and_nothing_is_stored(collector, demo_trace_ids, reviewer) -> None:
    session = create_labeling_session("checks", label_schemas=_schemas(), assigned_users=["alice"])
    session.add_traces(demo_trace_ids[:1])
    alice = reviewer("alice")
    item = f"/review/sessions/{session.id}/items/1"
    cases = [
        ({"answer:accuracy": "Mostly"}, "is not one of the options"),
        ({"answer:score": "1.5"}, "above the maximum 1"),
        ({"answer:score": "high"}, "is not a number"),
        ({"answer:ideal": "x" * 21}, "at most 20 are allowed"),
        ({"answer:facts": ["a", "b", "c"]}, "at most 2 are allowed"),
        ({"answer:accuracy": "Accurate", "answer:score": "2"}, "above the maximum"),  # one bad refuses all
        ({}, "No answer was given"),
    ]
    for fields, message in cases:
        answer = _post(alice, item, {**fields, "action": "submit"})
        assert answer.status_code == 422, fields
        assert message in answer.text.replace("&#39;", "'"), fields
    assert _stored(collector, demo_trace_ids[0]) == []
    assert session.items[0].state_of("alice") == IN_PROGRESS


def test_cross_site_posts_and_missing_tokens_are_refused(collector, demo_trace_ids, reviewer) -> None:
    session = create_labeling_session("csrf", label_schemas=_schemas())
    session.add_traces(demo_trace_ids[:1])
    alice = reviewer("alice")
    item = f"/review/sessions/{session.id}/items/1"
    fields = {"answer:accuracy": "Accurate", "action": "submit"}
    assert _post(alice, item, fields, Origin="http://evil.example").status_code == 403
    assert _post(alice, item, fields, **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert alice.post(item, data=fields).status_code == 403  # no CSRF token
    assert alice.post(item, data={**fields, "csrf_token": "0" * 64}).status_code == 403
    assert _stored(collector, demo_trace_ids[0]) == []
    # The must-pass case: same origin with the page's token.
    assert _post(alice, item, fields, Origin=collector.http_url).status_code == 303
    assert _stored(collector, demo_trace_ids[0]) == [("accuracy", "create", "alice")]


def test_sign_in_refuses_wrong_passwords_and_unassigned_users(collector, demo_trace_ids, reviewer) -> None:
    assert verify_user(CatalogDatabase(collector.data_dir), "alice", PASSWORDS["alice"])
    assert not verify_user(CatalogDatabase(collector.data_dir), "alice", "wrong")
    with httpx.Client(base_url=collector.http_url) as anonymous:
        page = anonymous.get("/review/signin")
        answer = anonymous.post("/review/signin", data={"csrf_token": form_token(page.text), "name": "alice",
                                                        "password": "wrong", "next": "/review/"})
        assert answer.status_code == 401 and "That name and password do not match" in answer.text
        assert 'name="name" autocomplete="username" required value="alice"' in answer.text  # kept
        assert "otel-feedback users" not in answer.text  # no shell command for a reviewer
        assert "otel_feedback_reviewer" not in anonymous.cookies
        session = create_labeling_session("private", label_schemas=["expected_response"], assigned_users=["alice"])
        assert anonymous.get(session.url).status_code == 303  # to the sign-in page
    mallory = reviewer("mallory")
    refused = mallory.get(session.url)
    assert refused.status_code == 403 and "not assigned" in refused.text
    assert mallory.post(f"/review/sessions/{session.id}/items/1", data={"csrf_token": "x"}).status_code == 403
    forged = httpx.Client(base_url=collector.http_url, cookies={"otel_feedback_reviewer": "YWxpY2U.9999999999.00"})
    with forged:
        assert forged.get(session.url).status_code == 303  # a forged cookie is "signed out"


def test_states_resubmission_history_and_agreement(collector, demo_trace_ids, reviewer) -> None:
    session = create_labeling_session("agree", label_schemas=_schemas(), assigned_users=["alice", "bob"])
    assert session.add_traces(demo_trace_ids[:3]) == 3
    assert session.add_traces(demo_trace_ids[:1]) == 0  # already in the session
    alice, bob = reviewer("alice"), reviewer("bob")
    base = f"/review/sessions/{session.id}/items"
    # The next page says the answers were stored ("Saved", "Skipped").
    saved = _post(alice, f"{base}/1", {"answer:accuracy": "Accurate", "action": "submit"}).headers["location"]
    assert saved == f"{base}/2?saved=1"
    assert "Saved: your answers to item 1 are stored." in alice.get(saved).text
    assert 'id="saved"' not in alice.get(f"{base}/2").text
    assert _post(alice, f"{base}/2", {"answer:accuracy": "Accurate", "action": "submit"}).status_code == 303
    skipped = _post(alice, f"{base}/3", {"action": "skip"}).headers["location"]
    assert skipped == f"/review/sessions/{session.id}?skipped=3" and "Skipped item 3." in alice.get(skipped).text
    assert _post(bob, f"{base}/1", {"answer:accuracy": "Accurate", "action": "submit"}).status_code == 303
    assert _post(bob, f"{base}/2", {"answer:accuracy": "Inaccurate", "action": "submit"}).status_code == 303
    states = [(item.state_of("alice"), item.state_of("bob")) for item in session.items]
    assert states == [(COMPLETED, COMPLETED), (COMPLETED, COMPLETED), (SKIPPED, PENDING)]

    # Resubmitting overrides the reviewer's previous answer; the history keeps both.
    assert _post(alice, f"{base}/1", {"answer:accuracy": "Inaccurate", "comment:accuracy": "On reflection",
                                      "action": "submit"}).status_code == 303
    rows = [row for row in _stored(collector, demo_trace_ids[0]) if row[2] == "alice"]
    assert rows == [("accuracy", "create", "alice"), ("accuracy", "override", "alice")]

    summary = session.summary()
    accuracy = next(entry for entry in summary["agreement"] if entry["schema"] == "accuracy")
    # Both items disagree now (Inaccurate/Accurate, Accurate/Inaccurate): 0% agreement, kappa -1.
    assert accuracy["percent_agreement"] == 0.0 and accuracy["cohens_kappa"] == -1.0
    assert accuracy["disagreements"] == demo_trace_ids[:2]  # in queue order
    assert {entry["reviewer"]: entry["done"] for entry in summary["progress"]} == {"alice": 3, "bob": 2}
    page = alice.get(session.url).text
    assert "3 of 3 done" in page and "-1.000" in page and "Item 1</a>, <a" in page
    assert f'id="review-again" href="{base}/1"' in page  # a way back into a finished session
