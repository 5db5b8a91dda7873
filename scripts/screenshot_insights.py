"""Make the screenshots of the traces table, sessions, a conversation and the charts, at
1280x800 and 390x844, under docs/images/ (docs/ui.md links them).

Serves a temporary collector on a free loopback port, sends it 36 hours of a support bot's chat
turns in sessions (real OTLP/HTTP export, gpt-4o-mini token counts, thumbs up/down through the
REST API; the same helper the browser tests use), and opens each page in headless Chromium::

    .venv/bin/python scripts/screenshot_insights.py [--out-dir docs/images] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tests" / "collector" / "ui"))

from insight_data import EXPERIMENT, Turn, send_turns  # noqa: E402
from screenshot import CHROMIUM_ARGS  # noqa: E402

from otel_feedback_collector.server import CollectorServer  # noqa: E402

SIZES = {"1280": (1280, 800), "390": (390, 844)}
QUESTIONS = [
    ("How do I reset my password?", "Open Settings, then Security, then Reset password. A link arrives by email."),
    ("And if I lost my phone?", "Use one of your recovery codes from the account page, then add the new phone."),
    ("Can I export my data?", "Yes: Settings, Privacy, Export. You get a ZIP of JSON files within an hour."),
    ("How do I log out everywhere?", "Security, then Sign out of all devices."),
    ("What does the Pro plan add?", "More seats, SSO and a 99.9% uptime commitment."),
    ("Is there an API?", "Yes, a REST API; create a token under Settings, Developer."),
]


def sample_turns(count: int = 42, seed: int = 3) -> list[Turn]:
    """Chat turns over 36 hours in sessions of one to four turns, some with feedback."""
    rng = random.Random(seed)
    turns: list[Turn] = []
    session = 0
    hour = 0
    while len(turns) < count and hour < 36:
        session += 1
        for turn in range(rng.randint(1, 4)):
            question, answer = QUESTIONS[(session + turn) % len(QUESTIONS)]
            feedback = rng.choice([True, True, True, False, None])
            turns.append(Turn(f"sess-{session:03d}", hour, question, answer, rng.randint(300, 2600), feedback))
        hour += rng.choice([0, 1, 1, 2])
    return turns


def make_screenshots(*, out_dir: Path, chromium: str) -> list[Path]:
    """Serve sample data and save each page at each size; return the files written."""
    from playwright.sync_api import sync_playwright

    saved: list[Path] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="otel-feedback-insights-") as tmp:
        with CollectorServer(Path(tmp) / "data", port=0, grpc_port=None) as server, sync_playwright() as playwright:
            turns = send_turns(server, sample_turns())
            longest = max({turn.session for turn in turns}, key=lambda s: sum(t.session == s for t in turns))
            base = f"{server.http_url}/experiments/{EXPERIMENT}"
            pages = {
                "traces-table": base,
                "sessions": base + "/sessions",
                "conversation": f"{base}/conversation?session={longest}",
                "experiment-charts": base + "/charts",
            }
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            try:
                for size, (width, height) in SIZES.items():
                    page = browser.new_page(viewport={"width": width, "height": height})
                    for name, url in pages.items():
                        page.goto(url)
                        page.wait_for_load_state("networkidle")
                        path = out_dir / f"{name}-{size}.png"
                        page.screenshot(path=str(path))
                        saved.append(path)
                    page.close()
            finally:
                browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: parse options, make the screenshots, print where they went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=REPO / "docs" / "images")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    options = parser.parse_args(argv)
    for path in make_screenshots(out_dir=options.out_dir, chromium=options.chromium):
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
