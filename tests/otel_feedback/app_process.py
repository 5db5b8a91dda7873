"""Running a small app in a fresh interpreter, as a separate process of the user's would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap


def run_app(code: str, *, timeout: float = 60) -> dict:
    """Run ``code`` without the test's ``OTEL_*`` settings; return the JSON its last line prints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=timeout
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
