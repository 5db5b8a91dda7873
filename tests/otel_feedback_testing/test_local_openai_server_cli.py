"""``python -m otel_feedback_testing`` serves until stopped and prints its base URL."""

from __future__ import annotations

import subprocess
import sys

import httpx


def test_module_cli_serves_and_prints_the_base_url() -> None:
    process = subprocess.Popen([sys.executable, "-m", "otel_feedback_testing", "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
    try:
        first_line = process.stdout.readline()  # blocks until the server is listening
        base_url = first_line.rsplit(" at ", 1)[1].strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        models = httpx.get(f"{base_url}/models", timeout=10).json()
        assert "gpt-4o-mini" in [model["id"] for model in models["data"]]
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
