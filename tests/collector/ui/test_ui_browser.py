"""The web UI in real headless Chromium: the tutorial's "see it" and "annotate" steps, markup in
span data shown as text, and a 30,000-span trace."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from ui_support import send_trace, write_big_trace

from otel_feedback_collector.server import CollectorServer
from otel_feedback_collector.demo.runner import END_USER, THUMBS_DOWN_RATIONALE


def feedback_trace_id(server: CollectorServer) -> str:
    """The demo trace that got the end user's thumbs-down."""
    connection = server.store.connect()
    try:
        return connection.execute("SELECT trace_id FROM assessments WHERE name = 'user_feedback'").fetchone()[0]
    finally:
        connection.close()


def reload_until(page: Any, selector: str, *, timeout: float = 15.0) -> Any:
    """Reload until ``selector`` exists (the table reads Parquet, flushed about once a second)."""
    deadline = time.monotonic() + timeout
    while True:
        locator = page.locator(selector)
        if locator.count() > 0:
            return locator
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector} did not appear within {timeout} s of reloading")
        page.wait_for_timeout(250)
        page.reload()


def test_tutorial_flow_see_feedback_then_add_edit_delete_an_assessment(demo_collector: CollectorServer, page: Any) -> None:
    trace_id = feedback_trace_id(demo_collector)
    page.goto(demo_collector.http_url + "/")
    page.get_by_role("link", name="tutorial").click()

    row = page.locator(f"tr[data-trace-id='{trace_id}']")
    thumbs = row.locator("td.assessment[data-name='user_feedback']")
    expect(thumbs).to_have_text("👎 No")
    expect(thumbs).to_have_attribute("title", f"{THUMBS_DOWN_RATIONALE} — HUMAN {END_USER}")
    expect(page.locator("table#traces tbody tr")).to_have_count(4)

    row.locator("a").first.click()
    expect(page).to_have_url(f"{demo_collector.http_url}/traces/{trace_id}")
    feedback = page.locator(".assessment-item[data-name='user_feedback']")
    expect(feedback.locator(".assessment-value")).to_have_text("👎 false")
    expect(feedback.locator(".rationale")).to_have_text(THUMBS_DOWN_RATIONALE)
    expect(feedback.locator(".source")).to_contain_text(f"HUMAN · {END_USER}")
    expect(page.locator(".span-row").first).to_have_class("span-row selected")
    expect(page.locator(".span-row")).to_have_count(3)

    # Add accuracy_score = 0.75 on the root span.
    page.click("#add-assessment")
    page.select_option("#f-type", "feedback")
    page.fill("#f-name", "accuracy_score")
    page.select_option("#f-value-type", "number")
    page.fill("#f-value", "0.75")
    page.fill("#f-rationale", "Correct but misses the storage details")
    page.fill("#f-user", "dev_ana")
    page.click("#f-submit")
    added = page.locator(".assessment-item[data-name='accuracy_score']")
    expect(added.locator(".assessment-value")).to_have_text("0.75")
    expect(added.locator(".source")).to_contain_text("HUMAN · dev_ana")
    expect(page.locator("#assessment-form")).to_be_hidden()

    # Reload the traces table: it has the new column with 0.75.
    page.goto(f"{demo_collector.http_url}/experiments/tutorial")
    cell = reload_until(page, f"tr[data-trace-id='{trace_id}'] td.assessment[data-name='accuracy_score']")
    expect(cell).to_have_text("0.75")
    expect(page.locator("th.assessment-col[data-name='accuracy_score']")).to_have_count(1)

    # Edit (an override), then delete.
    page.goto(f"{demo_collector.http_url}/traces/{trace_id}")
    added = page.locator(".assessment-item[data-name='accuracy_score']")
    added.locator("button.edit").click()
    expect(page.locator("#f-name")).to_be_disabled()
    expect(page.locator("#f-value")).to_have_value("0.75")
    page.fill("#f-value", "0.9")
    page.click("#f-submit")
    expect(added.locator(".assessment-head .assessment-value")).to_have_text("0.9")
    expect(added.locator(".history summary")).to_have_text("History (1 earlier)")
    expect(added.locator(".history .assessment-value")).to_have_text("0.75")

    added.locator("button.delete").click()
    added.locator("button.confirm-delete").click()
    expect(page.locator(".assessment-item[data-name='accuracy_score']")).to_have_count(0)
    expect(feedback).to_have_count(1)

    answer = httpx.get(f"{demo_collector.http_url}/api/v1/traces/{trace_id}/assessments", params={"history": "true"})
    log = [row for row in answer.json()["assessments"] if row["name"] == "accuracy_score"]
    assert [row["action"] for row in log] == ["create", "override", "delete"]
    assert log[0]["value"] == 0.75 and log[0]["source"] == {"source_type": "HUMAN", "source_id": "dev_ana"}
    assert log[0]["span_id"] is None and log[1]["value"] == 0.9


def test_assessment_on_a_child_span_and_typed_values(collector: CollectorServer, page: Any) -> None:
    trace_id, _root, child = send_trace(collector)
    page.goto(f"{collector.http_url}/traces/{trace_id}")
    page.locator(".span-row", has_text="llm").click()
    expect(page.locator("#assessment-target")).to_contain_text("span llm")
    page.click("#add-assessment")
    page.select_option("#f-type", "expectation")
    page.fill("#f-name", "expected_facts")
    page.select_option("#f-value-type", "json")
    page.fill("#f-value", "{not json")
    page.click("#f-submit")
    expect(page.locator("#form-error")).to_contain_text("not valid JSON")
    page.fill("#f-value", '["MLflow is open source", "it tracks experiments"]')
    page.click("#f-submit")
    expect(page.locator(".assessment-item[data-name='expected_facts'] .kind")).to_have_text("expectation")
    page.locator(".span-row", has_text="chat_app").click()
    expect(page.locator(".assessment-item")).to_have_count(0)
    expect(page.locator("#assessment-list")).to_contain_text("1 more on other spans")

    rows = httpx.get(f"{collector.http_url}/api/v1/traces/{trace_id}/assessments").json()["assessments"]
    assert [(row["span_id"], row["type"], row["value"]) for row in rows] == [
        (child, "expectation", ["MLflow is open source", "it tracks experiments"])
    ]
    assert rows[0]["source"] == {"source_type": "HUMAN", "source_id": "developer"}


PAYLOADS = {
    "note.script": "<script>alert('attr')</script>",
    "note.img": "<img src=x onerror=alert(1)>",
    "<b onmouseover=alert(2)>key</b>": "javascript:alert(3)",
}


def test_markup_in_span_data_is_shown_as_text_and_runs_nothing(collector: CollectorServer, page: Any) -> None:
    trace_id, _root, _child = send_trace(
        collector,
        service="<img src=x onerror=alert('svc')>",
        question="<script>alert('question')</script>",
        answer='[{"role": "assistant", "content": "<img src=x onerror=alert(4)>"}]',
        child_name="<svg onload=alert(5)>",
        child_attributes=PAYLOADS,
    )
    page.goto(collector.http_url + "/")
    expect(page.locator("#experiments")).to_contain_text("<img src=x onerror=alert('svc')>")
    page.locator("#experiments a").click()
    expect(page.locator("table#traces")).to_contain_text("<script>alert('question')</script>")
    page.goto(f"{collector.http_url}/traces/{trace_id}")
    expect(page.locator(".message-assistant .content")).to_have_text("<img src=x onerror=alert(4)>")
    page.locator(".span-row", has_text="<svg onload=alert(5)>").click()
    attributes = page.locator("table.attributes").first
    for key, value in PAYLOADS.items():
        expect(attributes.locator("tr", has=page.locator("th", has_text=key)).locator("td")).to_have_text(value)
    # Nothing became an element or a link: no img/svg/script from the data, no javascript: href.
    assert page.locator("#trace-view img, #trace-view svg, #trace-view script, main img").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    page.wait_for_timeout(200)  # let any injected handler fire; the page fixture fails on a dialog


def test_thirty_thousand_span_trace_opens_and_scrolls_to_the_last_span(collector: CollectorServer, page: Any) -> None:
    trace_id, last_name = write_big_trace(collector, span_count=30_000)
    page.goto(f"{collector.http_url}/traces/{trace_id}")
    expect(page.locator(".span-row").first).to_contain_text("span-00000")
    expect(page.locator("#tree-status")).to_contain_text("30000 spans")
    rendered = page.locator(".span-row").count()
    assert 10 < rendered < 200, f"{rendered} rows in the DOM: only the visible rows should be"
    page.eval_on_selector("#span-tree", "tree => { tree.scrollTop = tree.scrollHeight; }")
    expect(page.locator(".span-row", has_text=last_name)).to_be_visible()
    page.locator(".span-row", has_text=last_name).click()
    expect(page.locator(".detail-name")).to_have_text(last_name)
    # Collapse the root: one row remains.
    page.locator("#span-tree").press("Home")
    page.locator("#span-tree").press("ArrowLeft")
    expect(page.locator(".span-row")).to_have_count(1)


def test_a_short_trace_counts_every_row_in_view(collector: CollectorServer, page: Any) -> None:
    # More spans than the overscan, fewer than the pane holds: all of them are in view.
    trace_id, _last_name = write_big_trace(collector, span_count=20)
    page.goto(f"{collector.http_url}/traces/{trace_id}")
    expect(page.locator("#tree-status")).to_have_text("20 spans · rows 1–20")


TEN_MB = 10 * 1024 * 1024
LONG_VALUES = {
    # One unbroken 10 MB word (like base64), starting with markup that must stay text.
    "unbroken": "<img src=x onerror=alert('long')>" + "QUJD" * (TEN_MB // 4),
    "ordinary text": "<b>bold?</b> " + ("the customer asked about the refund policy " * (TEN_MB // 43)),
}


@pytest.mark.parametrize("kind", list(LONG_VALUES))
def test_a_ten_megabyte_value_is_shown_in_part_and_the_page_stays_interactive(
    collector: CollectorServer, page: Any, kind: str
) -> None:
    value = LONG_VALUES[kind]
    trace_id, _root, _child = send_trace(collector, question=value)
    page.goto(f"{collector.http_url}/traces/{trace_id}")
    # The root is selected on load; its input is the long value (shown clipped, as text).
    text = page.locator(".payload pre.text").first
    expect(text).to_be_visible(timeout=20_000)
    assert value.startswith(text.inner_text(timeout=20_000))
    assert page.locator("#trace-view img, #trace-view b").count() == 0
    # Never megabytes laid out at once: the details pane holds a bounded amount of text.
    laid_out = page.eval_on_selector("#span-detail", "node => node.textContent.length")
    assert laid_out < 500_000, f"{laid_out} characters in the details pane"
    controls = page.locator(".long-controls").first
    expect(controls).to_contain_text(f"of {len(value):,} characters")
    controls.get_by_role("button", name="more").click()
    expect(controls).to_contain_text("Showing 110,000 of")
    with page.expect_download(timeout=20_000) as download:
        controls.get_by_role("button", name="Download all").click()
    assert Path(download.value.path()).stat().st_size == len(value)
    # Interactive: a click on another span shows its details (a frozen page times out here).
    page.locator(".span-row", has_text="llm").click(timeout=20_000)
    expect(page.locator(".detail-name")).to_have_text("llm", timeout=20_000)
    page.locator(".span-row", has_text="chat_app").click(timeout=20_000)
    expect(page.locator(".detail-name")).to_have_text("chat_app", timeout=20_000)


def test_megabyte_span_names_are_shown_clipped(collector: CollectorServer, page: Any) -> None:
    root_name = "<i>R</i>" + "r" * 2_000_000
    child_name = "C" * 2_000_000
    trace_id, _root, _child = send_trace(collector, root_name=root_name, child_name=child_name)
    page.goto(f"{collector.http_url}/traces/{trace_id}")
    heading = page.locator("h1").inner_text()
    assert heading.startswith("<i>R</i>rrr") and heading.endswith("…") and len(heading) < 1000
    assert len(page.title()) < 1000
    expect(page.locator(".detail-name")).to_have_text(root_name[:300] + "…", timeout=20_000)
    page.locator(".span-row").nth(1).click(timeout=20_000)
    expect(page.locator(".detail-name")).to_have_text(child_name[:300] + "…", timeout=20_000)
    expect(page.locator("#assessment-target")).to_have_text("· span " + child_name[:300] + "…")
    assert max(len(text) for text in page.locator(".span-row").all_inner_texts()) < 1000
    assert page.locator("#trace-view i, main i").count() == 0
