"""The README's first command runs examples/tracing_basics.py: it must keep working."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tracing_basics.py"


def test_tracing_basics_prints_one_trace_with_its_tree():
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"^trace id: [0-9a-f]{32}$", out, re.MULTILINE)
    assert "- chatbot [UNKNOWN]" in out
    assert "  - retrieve [RETRIEVER]" in out
    assert "  - generate [LLM]" in out
    assert '"user.id": "enduser_123"' in out
