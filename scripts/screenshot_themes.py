"""Make the light/dark and desktop/phone screenshots in docs/images/ (docs/ui.md shows them).

Runs the demo (stand-in model, no network) into a temporary data directory, adds a reviewer and
a labeling session open to anyone signed in, serves it on a free loopback port and saves, at
1280x800 and 390x844, in light and dark, the trace view of the thumbs-down trace with its LLM
span selected and the review app's first item::

    .venv/bin/python scripts/screenshot_themes.py [--out docs/images] [--chromium /usr/bin/chromium]

Files: ``trace-{light,dark}-{1280,390}.png`` and ``review-{light,dark}-{1280,390}.png``.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from screenshot import CHROMIUM_ARGS  # noqa: E402

from otel_feedback_collector.catalog import CatalogDatabase  # noqa: E402
from otel_feedback_collector.catalog.users import add_user  # noqa: E402
from otel_feedback_collector.demo.runner import run_demo  # noqa: E402
from otel_feedback_collector.server import CollectorServer  # noqa: E402

SIZES = {"1280": {"width": 1280, "height": 800}, "390": {"width": 390, "height": 844}}
REVIEWER, PASSWORD = "expert_jo", "Screenshot-pw-2026"


def make_screenshots(*, out: Path, chromium: str) -> list[Path]:
    """Run the demo, serve its data, and save the eight screenshots into ``out``."""
    from playwright.sync_api import sync_playwright

    saved: list[Path] = []
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="otel-feedback-themes-") as tmp:
        data_dir = Path(tmp) / "data"
        result = run_demo(data_dir, serve=False, port=0, grpc_port=0, ask=False, out=io.StringIO())
        if result.feedback_trace_id is None:
            raise RuntimeError("The demo recorded no feedback; run `otel-feedback demo` to see why.")
        add_user(CatalogDatabase(data_dir), REVIEWER, password=PASSWORD)
        with CollectorServer(data_dir, port=0, grpc_port=None) as server, sync_playwright() as playwright:
            session = _open_session(server.http_url, result.feedback_trace_id)
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            try:
                for size, viewport in SIZES.items():
                    for scheme in ("light", "dark"):
                        context = browser.new_context(viewport=viewport, color_scheme=scheme)
                        page = context.new_page()
                        _trace_view(page, f"{server.http_url}/traces/{result.feedback_trace_id}")
                        saved.append(_save(page, out / f"trace-{scheme}-{size}.png"))
                        _review_item(page, server.http_url, session)
                        saved.append(_save(page, out / f"review-{scheme}-{size}.png"))
                        context.close()
            finally:
                browser.close()
    return saved


def _open_session(base: str, trace_id: str) -> str:
    """A labeling session with the demo's schemas, open to anyone signed in, holding ``trace_id``."""
    answer = httpx.post(f"{base}/api/v1/labeling-sessions", timeout=30, json={
        "name": "screenshot review", "label_schemas": ["response_accuracy", "expected_response"]})
    answer.raise_for_status()
    session_id = answer.json()["id"]
    httpx.post(f"{base}/api/v1/labeling-sessions/{session_id}/items", json={"trace_ids": [trace_id]},
               timeout=30).raise_for_status()
    return session_id


def _trace_view(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(".assessment-item")
    page.locator(".span-row", has=page.locator(".badge-CHAT_MODEL, .badge-LLM")).first.click()
    page.wait_for_selector("#span-detail .message-assistant")


def _review_item(page: Any, base: str, session_id: str) -> None:
    page.goto(f"{base}/review/signin?next=/review/sessions/{session_id}/items/1")
    page.fill("input[name=name]", REVIEWER)
    page.fill("input[name=password]", PASSWORD)
    page.click(".signin button[type=submit]")
    page.wait_for_selector("#labels")


def _save(page: Any, path: Path) -> Path:
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path))
    return path


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: parse options, make the screenshots, print where they went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    options = parser.parse_args(argv)
    for path in make_screenshots(out=options.out, chromium=options.chromium):
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
