"""Running ``otel-feedback chat-app`` as a real subprocess on loopback for the vibe-check tests."""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent


@contextmanager
def chat_app_process(spec: str, *, collector_url: str, model_url: str) -> Iterator[str]:
    """Serve ``spec`` with ``otel-feedback chat-app`` exporting to ``collector_url``; yield its base URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    env.update({
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector_url, "OTEL_SERVICE_NAME": "vibe-app",
        "OPENAI_BASE_URL": model_url, "OPENAI_API_KEY": "stand-in",
        "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
    })
    process = subprocess.Popen(
        [sys.executable, "-m", "otel_feedback.cli", "chat-app", spec, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=HERE,
    )
    try:
        yield _announced_url(process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _announced_url(process: subprocess.Popen[str], *, timeout: float = 60.0) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            line = process.stdout.readline()
            found = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
            if found:
                return found.group(1)
            if not line and process.poll() is not None:
                break
    process.kill()
    raise AssertionError(f"chat-app did not start: {process.stderr.read() if process.stderr else ''}")
