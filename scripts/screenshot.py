"""Make docs/images/trace-view.png: the trace view of the demo's thumbs-down trace.

Runs the demo flow (stand-in model, no network) into a temporary data directory, serves it
with the collector on a free loopback port, opens the trace view in headless Chromium at
1280x800 and saves the screenshot::

    .venv/bin/python scripts/screenshot.py [--out docs/images/trace-view.png] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from otel_feedback_collector.server import CollectorServer  # noqa: E402
from otel_feedback_collector.demo.runner import run_demo  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def make_screenshot(*, out: Path, chromium: str) -> Path:
    """Run the demo, serve its data, and save the trace view of the thumbs-down trace to ``out``."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="otel-feedback-screenshot-") as tmp:
        data_dir = Path(tmp) / "data"
        result = run_demo(data_dir, serve=False, port=0, grpc_port=0, ask=False, out=io.StringIO())
        if result.feedback_trace_id is None:
            raise RuntimeError("The demo recorded no feedback; run `otel-feedback demo` to see why.")
        with CollectorServer(data_dir, port=0, grpc_port=None) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(f"{server.http_url}/traces/{result.feedback_trace_id}")
                page.wait_for_selector(".span-row")
                page.wait_for_selector(".assessment-item")
                # Show the LLM call: the conversation is the most telling detail.
                page.locator(".span-row", has=page.locator(".badge-CHAT_MODEL, .badge-LLM")).first.click()
                page.wait_for_selector(".detail-section")
                page.locator(".span-row").first.click()
                page.wait_for_selector(".detail-section")
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out))
            finally:
                browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: parse options, make the screenshot, print where it went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "trace-view.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    options = parser.parse_args(argv)
    path = make_screenshot(out=options.out, chromium=options.chromium)
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
