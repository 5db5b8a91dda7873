"""How long until the trace page answers a click, with a huge value in the selected span?

One collector, one headless Chromium, same run: for each value (a short question, 256 KB and
10 MB of unbroken base64, 10 MB of ordinary words) a trace is sent whose root span carries the
value as its input; the page opens with the root selected (its details show the value), then
the child span is clicked. Printed per value: seconds until the root's details are shown, and
until the child's details are shown after the click ("time to interactive"). A value that
freezes the page shows as the timeout.

Run: ``.venv/bin/python bench/trace_page_long_values.py [--timeout S]``
"""

from __future__ import annotations

import argparse
import base64
import random
import tempfile
import time
from pathlib import Path

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from playwright.sync_api import sync_playwright

from otel_feedback_collector.server import CollectorServer

CHROMIUM = "/usr/bin/chromium"


def values() -> dict[str, str]:
    rng = random.Random(1)
    words = ["refund", "policy", "order", "days", "the", "customer", "asked", "about", "a"]
    ordinary = " ".join(rng.choice(words) for _ in range(2_000_000))[: 10 * 1024 * 1024]
    return {
        "small (20 B)": "What is the refund policy?",
        "256 KB base64": base64.b64encode(rng.randbytes(192 * 1024)).decode(),
        "10 MB base64": base64.b64encode(rng.randbytes(7_864_320)).decode(),
        "10 MB words": ordinary,
    }


def send(server: CollectorServer, value: str) -> str:
    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{server.http_url}/v1/traces", timeout=60)))
    tracer = provider.get_tracer("bench")
    with tracer.start_as_current_span("root", attributes={"openinference.span.kind": "CHAIN", "input.value": value}) as root:
        with tracer.start_as_current_span("child", attributes={"openinference.span.kind": "LLM"}):
            pass
    provider.shutdown()
    server.store.flush()
    return f"{root.get_span_context().trace_id:032x}"


def measure(browser, url: str, timeout_ms: float) -> tuple[float, float]:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(timeout_ms)
    try:
        started = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(".detail-name:text-is('root')")
        shown = time.perf_counter() - started
        started = time.perf_counter()
        page.locator(".span-row", has_text="child").click()
        page.wait_for_selector(".detail-name:text-is('child')")
        return shown, time.perf_counter() - started
    except Exception:  # noqa: BLE001 - a timeout is the measurement
        return float("inf"), float("inf")
    finally:
        page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a case counts as frozen")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory, CollectorServer(
        Path(directory) / "data", port=0, grpc_port=None, flush_interval=0.2
    ) as server:
        traces = {name: send(server, value) for name, value in values().items()}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            print(f"{'value':<16} {'details shown s':>16} {'click to details s':>19}")
            for name, trace_id in traces.items():
                shown, click = measure(browser, f"{server.http_url}/traces/{trace_id}", args.timeout * 1000)
                print(f"{name:<16} {shown:>16.2f} {click:>19.2f}", flush=True)
            browser.close()


if __name__ == "__main__":
    main()
