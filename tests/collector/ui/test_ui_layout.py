"""Look and layout in real Chromium at 1280x800 and 390x844: every page reached from the front
page fits a phone's width, dark mode follows the system, and the trace page, the assessment
form, the review app and the run comparison each keep their promise (docs/ui.md, "Dark mode and
phones")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect
from ui_support import copy_data

from otel_feedback_collector.catalog import CatalogDatabase
from otel_feedback_collector.catalog.users import add_user
from otel_feedback_collector.server import CollectorServer
from otel_feedback.evaluation import evaluate
from otel_feedback.scorers import ExactMatch

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
REVIEWER, PASSWORD = "rita", "Layout-check-pw-42"
# Pages the crawl must reach (path patterns), so a broken link cannot make it pass by visiting less.
MUST_REACH = {
    "experiments": r"^/$",
    "traces table": r"^/experiments/",
    "trace": r"^/traces/[0-9a-f]{32}$",
    "labeling home": r"^/labeling$",
    "labeling session": r"^/labeling/sessions/",
    "review home": r"^/review/$",
    "review session": r"^/review/sessions/[0-9a-f]+$",
    "review item": r"^/review/sessions/[0-9a-f]+/items/\d+$",
    "evaluation runs": r"^/evaluations$",
    "evaluation run": r"^/evaluations/[0-9a-f]{32}$",
    "run comparison": r"^/evaluations/compare",
}
# Links that are data or actions, not pages.
SKIP = re.compile(r"^/(api|ui/api|ui/static|review/static)/")


@pytest.fixture(scope="module")
def site(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One collector on the demo's data with a reviewer, a labeling session over the demo traces,
    two entries named accuracy_score on the thumbs-down trace, and two evaluation runs (the newer
    one unnamed)."""
    data = copy_data(demo_data, tmp_path_factory.mktemp("layout") / "data")
    add_user(CatalogDatabase(data), REVIEWER, password=PASSWORD)
    with CollectorServer(data, port=0, grpc_port=None) as server:
        base = server.http_url
        connection = server.store.connect()
        try:
            down = connection.execute("SELECT trace_id FROM assessments WHERE name = 'user_feedback'").fetchone()[0]
            traces = [row[0] for row in connection.execute("SELECT trace_id FROM traces ORDER BY start_time").fetchall()]
        finally:
            connection.close()
        for who in ("dev_ana", "dev_bo"):
            post(base, f"/api/v1/traces/{down}/assessments", name="accuracy_score", type="feedback", value=0.75,
                 rationale=f"checked by {who}", source={"source_type": "HUMAN", "source_id": who})
        post(base, "/api/v1/label-schemas", name="layout_accuracy", type="feedback", title="Is it accurate?",
             input={"type": "categorical", "options": ["Accurate", "Inaccurate"]})
        session = post(base, "/api/v1/labeling-sessions", name="layout review", label_schemas=["layout_accuracy"],
                       assigned_users=[REVIEWER])
        post(base, f"/api/v1/labeling-sessions/{session['id']}/items", trace_ids=traces[:2])
        rows = [{"inputs": {"question": "What is otel-feedback?"}, "outputs": "A tracing tool.",
                 "expectations": {"expected_response": "A tracing tool for GenAI apps."}}]
        named = evaluate(rows, scorers=[ExactMatch()], data_dir=data, run_name="baseline").run_id
        unnamed = evaluate(rows, scorers=[ExactMatch()], data_dir=data).run_id
        server.store.flush()
        yield {"server": server, "base": base, "down": down, "session": session["id"], "named": named,
               "unnamed": unnamed}


def post(base: str, path: str, **body: Any) -> Any:
    """POST ``body`` as JSON; the answer's JSON."""
    answer = httpx.post(base + path, json=body, timeout=30)
    assert answer.is_success, answer.text
    return answer.json()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """``open_page(viewport, color_scheme="light")``: a fresh page that fails the test on a page error."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(viewport: dict[str, int], color_scheme: str = "light") -> Any:
        context = browser.new_context(viewport=viewport, color_scheme=color_scheme)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == [], f"the page raised: {errors}"


def sign_in(page: Any, base: str, password: str = PASSWORD) -> None:
    page.goto(base + "/review/signin")
    page.fill("input[name=name]", REVIEWER)
    page.fill("input[name=password]", password)
    page.click(".signin button[type=submit]")


def page_width(page: Any) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390x844", "1280x800"])
def test_every_page_reached_from_the_front_page_fits_the_screen(site: dict[str, Any], open_page: Any,
                                                                viewport: dict[str, int]) -> None:
    base = site["base"]
    page = open_page(viewport)
    sign_in(page, base)
    queue, seen, widths = ["/"], {"/"}, {}
    while queue and len(widths) < 60:
        path = queue.pop(0)
        answer = page.goto(base + path)
        assert answer is not None and answer.ok, f"{path} answered {answer and answer.status}"
        page.wait_for_load_state("networkidle")
        widths[path] = page_width(page)
        crumbs = page.locator("nav.crumbs")
        if crumbs.count():
            assert " / " not in crumbs.first.inner_text(), f"{path}: breadcrumbs use '/' instead of '›'"
        if not path.startswith("/review"):
            expect(page.locator("#nav-experiments")).to_have_attribute("href", "/")
        for href in page.eval_on_selector_all("a[href]", "links => links.map(link => link.href)"):
            parts = urlsplit(href)
            if parts.netloc != urlsplit(base).netloc or parts.query or SKIP.match(parts.path):
                continue
            if parts.path not in seen:
                seen.add(parts.path)
                queue.append(parts.path)
        if path == "/evaluations":  # the comparison is a form, not a link
            page.click("#compare-form button[type=submit]")
            page.wait_for_load_state("networkidle")
            compare = urlsplit(page.url)
            widths[f"{compare.path}?{compare.query}"] = page_width(page)
    reached = {kind for kind, pattern in MUST_REACH.items() if any(re.search(pattern, path) for path in widths)}
    assert reached == set(MUST_REACH), f"not reached: {set(MUST_REACH) - reached}"
    too_wide = {path: width for path, width in widths.items() if width[0] > width[1]}
    assert too_wide == {}, f"pages wider than {viewport['width']} px (scrollWidth, innerWidth): {too_wide}"


def body_background(page: Any) -> tuple[int, int, int]:
    color = page.evaluate("getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(part) for part in re.findall(r"\d+", color)[:3])
    return red, green, blue


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390x844", "1280x800"])
def test_dark_mode_follows_the_system(site: dict[str, Any], open_page: Any, viewport: dict[str, int]) -> None:
    base = site["base"]
    page = open_page(viewport)
    sign_in(page, base)
    for path in (f"/traces/{site['down']}", "/evaluations", f"/review/sessions/{site['session']}/items/1"):
        page.emulate_media(color_scheme="light")
        page.goto(base + path)
        assert sum(body_background(page)) > 3 * 200, f"{path} is not light in light mode"
        page.emulate_media(color_scheme="dark")
        assert sum(body_background(page)) < 3 * 60, f"{path} is not dark in dark mode"
        text = page.evaluate("getComputedStyle(document.querySelector('main')).color")
        assert sum(int(part) for part in re.findall(r"\d+", text)[:3]) > 3 * 180, f"{path}: dark text on dark"


def open_trace(page: Any, base: str, trace_id: str) -> None:
    page.goto(f"{base}/traces/{trace_id}")
    expect(page.locator(".span-row")).to_have_count(3)
    expect(page.locator(".assessment-item").first).to_be_visible()


def test_trace_page_gives_the_answer_room_and_drops_the_unknown_badge(site: dict[str, Any], open_page: Any) -> None:
    page = open_page(DESKTOP)
    open_trace(page, site["base"], site["down"])
    root = page.locator(".span-row").first
    expect(root.locator(".span-name")).to_have_text("my_chatbot")
    expect(root.locator(".badge")).to_have_count(0)  # a bare @trace function: no grey UNKNOWN
    expect(page.locator(".detail-head .badge")).to_have_count(0)

    # The LLM span: its answer shows in a detail pane that has most of the height.
    page.locator(".span-row", has=page.locator(".badge-CHAT_MODEL, .badge-LLM")).click()
    answer = page.locator("#span-detail .message-assistant")
    expect(answer).to_be_visible()
    detail, assessments = (page.locator(selector).bounding_box() for selector in ("#span-detail", "#assessments"))
    assert detail["height"] >= 550 and assessments["height"] < detail["height"] / 3, (detail, assessments)
    box = answer.bounding_box()
    assert box["y"] + box["height"] <= DESKTOP["height"], "the answer starts below the fold"

    # Durations stay on one line inside their label, the sub-millisecond one too.
    labels = page.locator(".span-duration")
    texts = labels.all_inner_texts()
    assert any(text.endswith("µs") for text in texts), texts
    for index in range(labels.count()):
        fits = labels.nth(index).evaluate("label => [label.scrollWidth <= label.clientWidth, label.getClientRects().length"
                                          " && label.getBoundingClientRect().height]")
        assert fits[0] and fits[1] < 20, (texts[index], fits)


def test_add_assessment_form_types_rationale_and_which_entry(site: dict[str, Any], open_page: Any) -> None:
    page = open_page(DESKTOP)
    open_trace(page, site["base"], site["down"])
    page.click("#add-assessment")
    expect(page.locator("#f-value-type")).to_have_value("boolean")
    page.fill("#f-name", "accuracy_score")  # its values are numbers
    expect(page.locator("#f-value-type")).to_have_value("number")
    expect(page.locator("#f-value")).to_be_visible()
    page.fill("#f-name", "user_feedback")  # its values are booleans
    expect(page.locator("#f-value-type")).to_have_value("boolean")
    rationale = page.locator("#f-rationale")
    lines = rationale.evaluate("box => box.clientHeight / parseFloat(getComputedStyle(box).lineHeight)")
    assert lines >= 4, lines
    assert rationale.evaluate("box => getComputedStyle(box).resize") in ("vertical", "both")
    page.click("#f-cancel")

    entries = page.locator(".assessment-item[data-name='accuracy_score']")
    expect(entries).to_have_count(2)
    titles = []
    for index in range(2):
        entries.nth(index).locator("button.edit").click()
        titles.append(page.locator("#form-title").inner_text())
        page.click("#f-cancel")
    assert titles[0] != titles[1], titles
    assert any("dev_ana" in title for title in titles) and any("dev_bo" in title for title in titles), titles
    assert all(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", title) for title in titles), titles


def test_trace_page_on_a_phone(site: dict[str, Any], open_page: Any) -> None:
    page = open_page(PHONE)
    open_trace(page, site["base"], site["down"])
    for label in page.locator(".span-label").all():  # names readable, not cut to one letter
        assert label.bounding_box()["width"] >= 200, label.inner_text()
        name = label.locator(".span-name")
        assert name.evaluate("span => span.scrollWidth <= span.clientWidth"), name.inner_text()
    value = page.locator(".assessment-item[data-name='user_feedback'] .assessment-value")
    assert value.bounding_box()["height"] < 24, "the value is drawn over several lines"
    page.click("#add-assessment")
    form = page.locator("#assessment-form").bounding_box()
    assert form["x"] >= 0 and form["x"] + form["width"] <= PHONE["width"], form
    assert 0 <= form["y"] < PHONE["height"], form  # brought into view
    for field in ("#f-type", "#f-name", "#f-value-type", "#f-rationale", "#f-submit"):
        box = page.locator(field).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (field, box)
    assert page_width(page)[0] <= PHONE["width"]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390x844", "1280x800"])
def test_review_app_saved_wrong_password_and_way_back(site: dict[str, Any], open_page: Any,
                                                      viewport: dict[str, int]) -> None:
    base, session = site["base"], site["session"]
    page = open_page(viewport)
    sign_in(page, base, password="not the password")
    expect(page.locator("input[name=name]")).to_have_value(REVIEWER)
    message = page.locator(".error")
    expect(message).to_contain_text("do not match")
    expect(message).not_to_contain_text("otel-feedback users")
    page.fill("input[name=password]", PASSWORD)
    page.click(".signin button[type=submit]")

    for position in (1, 2):
        page.goto(f"{base}/review/sessions/{session}/items/{position}")
        page.get_by_label("Accurate", exact=True).check()
        page.click("button[value=submit]")
        expect(page.locator("#saved")).to_contain_text(f"Saved: your answers to item {position} are stored.")
    expect(page).to_have_url(re.compile(rf"/review/sessions/{session}\?saved=2$"))
    again = page.locator("#review-again")
    expect(again).to_be_visible()
    again.click()
    expect(page).to_have_url(f"{base}/review/sessions/{session}/items/1")
    expect(page.get_by_label("Accurate", exact=True)).to_be_checked()


def test_run_comparison_is_readable(site: dict[str, Any], open_page: Any) -> None:
    page = open_page(PHONE)
    page.goto(site["base"] + "/evaluations")
    expect(page.locator("#compare-help")).to_contain_text("Compare two runs")
    unnamed = page.locator(f"tr[data-run-id='{site['unnamed']}'] td.run-label")
    expect(unnamed).to_have_text(f"run {site['unnamed'][:8]}")
    options = page.locator("#compare-a option").all_inner_texts()
    assert not any(re.search(r"[0-9a-f]{32}", option) for option in options), options
    assert any(re.fullmatch(rf"run {site['unnamed'][:8]} · \d{{4}}-.* UTC", option) for option in options), options
    page.select_option("#compare-a", site["named"])
    page.select_option("#compare-b", site["unnamed"])
    page.click("#compare-form button[type=submit]")
    headers = page.locator("table#comparison thead tr").first.locator("th").all_inner_texts()
    assert headers[:2] == ["Input", "Expected"], headers
    row = page.locator("table#comparison tbody tr").first
    expect(row.locator("td.inputs")).to_have_text("question: What is otel-feedback?")
    expect(row.locator("td.expectations")).to_have_text("expected_response: A tracing tool for GenAI apps.")
    expect(page.locator("#run-b")).to_have_text(f"run {site['unnamed'][:8]}")


def test_runs_page_says_comparison_exists_with_one_run(collector: CollectorServer) -> None:
    assert collector.data_dir is not None
    evaluate([{"inputs": {"q": "a"}, "outputs": "A", "expectations": {"expected_response": "A"}}],
             scorers=[ExactMatch()], data_dir=collector.data_dir, run_name="only")
    page = httpx.get(collector.http_url + "/evaluations", timeout=30).text
    assert 'id="compare-help"' in page and "pick the two runs here" in page
    assert 'id="compare-form"' not in page  # nothing to pick yet


def test_favicon_is_served(collector: CollectorServer) -> None:
    for path in ("/ui/static/favicon.svg", "/favicon.ico"):
        answer = httpx.get(collector.http_url + path, timeout=30)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/svg+xml"), path
        assert answer.text.startswith("<svg")
    page = httpx.get(collector.http_url + "/", timeout=30).text
    assert '<link rel="icon" href="/ui/static/favicon.svg" type="image/svg+xml">' in page
