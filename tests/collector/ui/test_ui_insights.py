"""The traces table's readable columns and column chooser, the sessions and conversation pages,
the charts, cost and span search, in real headless Chromium at 1280x800 and 390x844."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from insight_data import EXPERIMENT, OWN_COST, TURN_COST, TURNS, Turn, send_turns
from playwright.sync_api import expect
from ui_support import checked_page

from otel_feedback_collector.server import CollectorServer
from otel_feedback_collector.ui.charts import PLOT_HEIGHT, TOP, nice_ceiling

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture(params=list(SIZES))
def sized_page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    """A page at 1280x800 or 390x844 that fails the test on any dialog or page error."""
    with checked_page(browser, *SIZES[request.param]) as page:
        yield page


@pytest.fixture
def turns(collector: CollectorServer) -> list[Turn]:
    return send_turns(collector)


def assert_no_page_scroll(page: Any) -> None:
    """Nothing makes the page wider than the window (a table may scroll in its own box)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"


def test_traces_table_shows_the_question_the_answer_and_the_feedback_in_view(
    collector: CollectorServer, turns: list[Turn], sized_page: Any
) -> None:
    page = sized_page
    page.goto(f"{collector.http_url}/experiments/{EXPERIMENT}")
    first = turns[0]
    row = page.locator(f"tr[data-trace-id='{first.trace_id}']")
    request = row.locator("td[data-col='request']")
    expect(request).to_have_text(first.question)  # the argument, not {"question": ...}
    expect(request).to_have_attribute("title", first.question)
    expect(row.locator("td[data-col='response']")).to_have_text(first.answer)
    for text in page.locator("#traces td.text-cell").all_inner_texts():
        assert "{" not in text and '"question"' not in text
    # The question itself is the link into the trace.
    expect(request.locator("a")).to_have_attribute("href", f"/traces/{first.trace_id}")
    # Booleans as words; cost from gpt-4o-mini's price, or the span's own cost.
    feedback = row.locator("td.assessment[data-name='user_feedback']")
    expect(feedback).to_have_text("👍 Yes")
    expect(page.locator(f"tr[data-trace-id='{turns[1].trace_id}'] td[data-name='user_feedback']")).to_have_text("👎 No")
    expect(row.locator("td[data-col='cost']")).to_have_text("$0.00036")
    expect(page.locator(f"tr[data-trace-id='{turns[4].trace_id}'] td[data-col='cost']")).to_have_text("$0.50")
    if page.viewport_size["width"] >= 1280:
        box = feedback.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1280, "the feedback column is out of view"
    assert_no_page_scroll(page)

    request.locator("a").click()
    expect(page).to_have_url(f"{collector.http_url}/traces/{first.trace_id}")


def test_the_column_chooser_remembers_its_choice(collector: CollectorServer, turns: list[Turn], page: Any) -> None:
    page.goto(f"{collector.http_url}/experiments/{EXPERIMENT}")
    time_cells = page.locator("#traces [data-col='start_time']")
    expect(time_cells.first).to_be_visible()
    page.click("#column-chooser summary")
    page.locator("input[data-col-toggle='start_time']").uncheck()
    page.locator("input[data-col-toggle='a:user_feedback']").uncheck()
    expect(time_cells.first).to_be_hidden()
    expect(page.locator("#traces [data-col='a:user_feedback']").first).to_be_hidden()
    page.reload()
    expect(page.locator("#traces [data-col='start_time']").first).to_be_hidden()
    expect(page.locator("input[data-col-toggle='start_time']")).not_to_be_checked()
    expect(page.locator("#traces [data-col='duration_ms']").first).to_be_visible()
    page.click("#column-chooser summary")
    page.locator("input[data-col-toggle='start_time']").check()
    page.reload()
    expect(page.locator("#traces [data-col='start_time']").first).to_be_visible()
    expect(page.locator("#traces [data-col='a:user_feedback']").first).to_be_hidden()


def test_sessions_and_conversation_pages(collector: CollectorServer, turns: list[Turn], sized_page: Any) -> None:
    page = sized_page
    page.goto(f"{collector.http_url}/experiments/{EXPERIMENT}")
    page.click("#tab-sessions")
    expect(page).to_have_url(f"{collector.http_url}/experiments/{EXPERIMENT}/sessions")
    rows = page.locator("#sessions tbody tr")
    expect(rows).to_have_count(2)
    alpha = page.locator("tr[data-session-id='sess-alpha']")
    expect(alpha.locator(".turns")).to_have_text("3")
    expect(alpha.locator(".first-question")).to_have_text("How do I reset my password?")
    expect(alpha.locator(".feedback-summary .value-up")).to_have_text("👍 1 Yes")
    expect(alpha.locator(".feedback-summary .value-down")).to_have_text("👎 1 No")
    expect(page.locator("tr[data-session-id='sess-beta'] .turns")).to_have_text("1")
    assert_no_page_scroll(page)

    alpha.locator(".session-id a").click()
    alpha_turns = [turn for turn in turns if turn.session == "sess-alpha"]
    items = page.locator("#turns .turn")
    expect(items).to_have_count(len(alpha_turns))
    for index, turn in enumerate(alpha_turns):
        item = items.nth(index)
        expect(item).to_have_attribute("data-trace-id", turn.trace_id)
        expect(item.locator(".bubble-question .bubble-text")).to_have_text(turn.question)
        expect(item.locator(".bubble-answer .bubble-text")).to_have_text(turn.answer)
        expect(item.locator(".cost")).to_have_text("$0.00036")
        if turn.feedback is None:
            expect(item.locator(".turn-assessment")).to_have_count(0)
        else:
            expect(item.locator(".turn-assessment .assessment-value")).to_have_text("👍 Yes" if turn.feedback else "👎 No")
    assert_no_page_scroll(page)
    items.nth(1).locator("a.turn-trace").click()
    expect(page).to_have_url(f"{collector.http_url}/traces/{alpha_turns[1].trace_id}")


def test_charts_draw_the_real_data_points(collector: CollectorServer, turns: list[Turn], sized_page: Any) -> None:
    page = sized_page
    page.goto(f"{collector.http_url}/experiments/{EXPERIMENT}")
    page.click("#tab-charts")
    traces_chart = page.locator("#chart-traces svg")
    expect(traces_chart.locator("title").first).to_have_text("Traces per hour")
    counts = [sum(1 for turn in TURNS if turn.hour == hour) for hour in (0, 1, 2)]
    points = traces_chart.locator("circle")
    expect(points).to_have_count(3)
    top = nice_ceiling(max(counts))
    for index, count in enumerate(counts):
        point = points.nth(index)
        assert float(point.get_attribute("data-value")) == count
        assert float(point.get_attribute("cy")) == pytest.approx(TOP + PLOT_HEIGHT * (1 - count / top), abs=0.01)
    assert "highest 3 at 11-20 11:00" in traces_chart.locator("desc").text_content()
    # Drawn where the numbers say: the 3-trace hour above the 2-trace hour above the empty one.
    heights = [points.nth(index).bounding_box()["y"] for index in range(3)]
    assert heights[2] < heights[0] < heights[1]

    feedback = page.locator("#chart-feedback svg circle")
    assert [float(value) for value in feedback.evaluate_all("nodes => nodes.map(n => n.dataset.value)")] == [0.5, 1.0]
    cost = page.locator("#chart-cost svg circle")
    values = [float(value) for value in cost.evaluate_all("nodes => nodes.map(n => n.dataset.value)")]
    assert values == pytest.approx([2 * TURN_COST, TURN_COST * 2 + OWN_COST])
    assert_no_page_scroll(page)


def test_trace_page_shows_cost_and_filters_spans_by_search(
    collector: CollectorServer, turns: list[Turn], sized_page: Any
) -> None:
    page = sized_page
    page.goto(f"{collector.http_url}/traces/{turns[0].trace_id}")
    expect(page.locator("#trace-cost")).to_have_text("$0.00036")
    rows = page.locator(".span-row")
    expect(rows).to_have_count(2)
    rows.nth(1).click()
    expect(page.locator(".detail-meta.span-cost")).to_have_text("$0.00036")

    search = page.locator("#span-search-input")
    count = page.locator("#span-search-count")
    search.fill("support bot")  # only in the LLM span's system message (content)
    expect(count).to_have_text("1 of 2 spans match")
    expect(page.locator(".span-row.search-hit .span-name")).to_have_text("chat gpt-4o-mini")
    expect(page.locator(".span-row.search-context .span-name")).to_have_text("support_chat")  # its parent, for context
    search.fill("chain")  # a span type
    expect(count).to_have_text("1 of 2 spans match")
    expect(page.locator(".span-row.search-hit .span-name")).to_have_text("support_chat")
    search.fill("no such text")
    expect(count).to_have_text("0 of 2 spans match")
    expect(rows).to_have_count(0)
    # Keyboard: Escape clears; Enter goes to the first match.
    search.press("Escape")
    expect(rows).to_have_count(2)
    expect(count).to_have_text("")
    search.fill("gpt-4o-mini")
    search.press("Enter")
    expect(page.locator(".span-row.selected .span-name")).to_have_text("chat gpt-4o-mini")
    expect(page.locator(".detail-name")).to_have_text("chat gpt-4o-mini")
    assert_no_page_scroll(page)
