"""The Labeling section: schemas and sessions created in real Chromium, traces added from the
traces table, the server's 422 message shown; the pages' content over plain HTTP."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from ui_support import send_trace

from otel_feedback_collector.catalog import CatalogDatabase
from otel_feedback_collector.catalog.users import add_user
from otel_feedback_collector.server import CollectorServer


def add_reviewer(server: CollectorServer, name: str) -> None:
    """A catalog user (as ``otel-feedback users add`` makes one)."""
    assert server.data_dir is not None
    add_user(CatalogDatabase(server.data_dir), name, password="secret-password")


def api(server: CollectorServer, method: str, path: str, **json: Any) -> Any:
    answer = httpx.request(method, server.http_url + path, json=json or None, timeout=30)
    assert answer.is_success, answer.text
    return answer.json()


def test_create_schema_and_session_then_add_a_trace_from_the_traces_table(
    collector: CollectorServer, page: Any
) -> None:
    trace_id, _root, _child = send_trace(collector, service="support-bot")
    add_reviewer(collector, "alice")
    page.goto(collector.http_url + "/")
    page.click("#nav-labeling")
    expect(page).to_have_url(collector.http_url + "/labeling")
    expect(page.locator("#no-sessions")).to_be_visible()

    # A bad schema: the server's 422 message is shown, nothing is stored.
    page.click("#new-schema")
    page.fill("#s-name", "helpfulness")
    page.fill("#s-title", "How helpful is the answer?")
    page.select_option("#s-input", "numeric")
    expect(page.locator("#s-options")).to_be_hidden()
    page.fill("#s-min", "5")
    page.fill("#s-max", "1")
    page.click("#schema-submit")
    expect(page.locator("#schema-error")).to_have_text("min_value (5) must not be greater than max_value (1).")
    expect(page.locator("#schemas tr[data-name='helpfulness']")).to_have_count(0)

    # Fixed, it is created and listed with its bounds.
    page.fill("#s-min", "1")
    page.fill("#s-max", "5")
    page.click("#schema-submit")
    row = page.locator("#schemas tr[data-name='helpfulness']")
    expect(row).to_contain_text("numeric")
    expect(row).to_contain_text("1 … 5")

    # Edit it into a categorical schema (the form is filled from the API, saved with overwrite).
    row.locator(".edit-schema").click()
    expect(page.locator("#s-name")).to_have_value("helpfulness")
    expect(page.locator("#s-max")).to_have_value("5")
    page.select_option("#s-input", "categorical")
    page.fill("#s-options", "Helpful\nNot helpful")
    page.click("#schema-submit")
    expect(page.locator("#schemas tr[data-name='helpfulness']")).to_contain_text("Helpful · Not helpful")

    # A session with that schema, assigned to alice.
    page.click("#new-session")
    page.fill("#ls-name", "week 48 review")
    page.check("input[name='ls-schema'][value='helpfulness']")
    page.check("input[name='ls-user'][value='alice']")
    page.click("#session-submit")
    expect(page).to_have_url(re.compile(r"/labeling/sessions/[0-9a-f]{32}$"))
    expect(page.locator("#session-name")).to_have_text("week 48 review")
    expect(page.locator("#no-items")).to_be_visible()

    # Tick the trace in the traces table and add it to the session.
    page.goto(collector.http_url + "/experiments/support-bot")
    page.check(f"tr[data-trace-id='{trace_id}'] input.pick-trace")
    expect(page.locator("#label-session option:checked")).to_have_text("week 48 review")
    page.click("#label-add")
    expect(page.locator("#label-result")).to_contain_text("Added 1 trace(s) to week 48 review.")
    page.click("#label-session-link")

    item = page.locator(f"#items tr[data-trace-id='{trace_id}']")
    expect(item.locator("td[data-reviewer='alice']")).to_have_text("PENDING")
    expect(page.locator("#progress tr[data-reviewer='alice']")).to_contain_text("0 of 1")
    expect(page.locator("#agreement tr[data-schema='helpfulness']")).to_contain_text("n/a")
    session_id = page.locator("#labeling-session").get_attribute("data-session-id")
    expect(page.locator("#review-link")).to_have_attribute("href", f"/review/sessions/{session_id}")

    # Back on /labeling the session is listed with its progress.
    page.click("#nav-labeling")
    session_row = page.locator(f"#sessions tr[data-session-id='{session_id}']")
    expect(session_row).to_contain_text("alice: 0/1")


def test_session_form_shows_the_servers_message_for_a_session_without_schemas(
    collector: CollectorServer, page: Any
) -> None:
    page.goto(collector.http_url + "/labeling")
    page.click("#new-session")
    page.fill("#ls-name", "empty")
    page.click("#session-submit")
    expect(page.locator("#session-error")).to_contain_text("A labeling session needs at least one label schema")


def test_pages_escape_names_and_show_progress_and_agreement(collector: CollectorServer) -> None:
    trace_id, _root, _child = send_trace(collector)
    add_reviewer(collector, "bob")
    add_reviewer(collector, "carol")
    api(collector, "POST", "/api/v1/label-schemas", name="correct", type="feedback", title="<b>Correct?</b>",
        input={"type": "categorical", "options": ["yes", "no"]})
    session = api(collector, "POST", "/api/v1/labeling-sessions", name="<script>x</script>",
                  label_schemas=["correct"], assigned_users=["bob", "carol"])
    api(collector, "POST", f"/api/v1/labeling-sessions/{session['id']}/items", trace_ids=[trace_id])

    home = httpx.get(collector.http_url + "/labeling", timeout=30)
    assert home.status_code == 200
    assert "&lt;b&gt;Correct?&lt;/b&gt;" in home.text and "<b>Correct?</b>" not in home.text
    assert "&lt;script&gt;x&lt;/script&gt;" in home.text and "<script>x</script>" not in home.text
    assert "yes · no" in home.text
    assert "bob: 0/1" in home.text and "carol: 0/1" in home.text
    assert home.headers["Content-Security-Policy"].startswith("default-src 'self'")

    detail = httpx.get(f"{collector.http_url}/labeling/sessions/{session['id']}", timeout=30)
    assert detail.status_code == 200
    assert f'<tr data-trace-id="{trace_id}">' in detail.text
    assert detail.text.count('class="item-state state-pending"') == 2
    assert '<tr data-schema="correct">' in detail.text
    assert 'href="/api/v1/labeling/export"' in detail.text
    assert f'href="/review/sessions/{session["id"]}"' in detail.text


@pytest.mark.parametrize("session_id", ["0" * 32, "not-a-session"])
def test_unknown_session_answers_404_with_a_hint(collector: CollectorServer, session_id: str) -> None:
    answer = httpx.get(f"{collector.http_url}/labeling/sessions/{session_id}", timeout=30)
    assert answer.status_code == 404
    assert "There is no labeling session" in answer.text
    assert "GET /api/v1/labeling-sessions" in answer.text


def test_traces_table_has_a_pick_box_per_row_and_the_picker(collector: CollectorServer) -> None:
    trace_id, _root, _child = send_trace(collector, service="picker")
    answer = httpx.get(collector.http_url + "/experiments/picker", timeout=30)
    assert answer.status_code == 200
    assert f'class="pick-trace" value="{trace_id}"' in answer.text
    assert 'id="label-picker" hidden' in answer.text
    assert "/ui/static/labeling.js" in answer.text
