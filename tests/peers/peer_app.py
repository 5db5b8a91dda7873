"""Running the chatbot app (tests/peers/chatbot_app.py) as its own process, and the readers."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from peer_servers import run_json

HERE = Path(__file__).resolve().parent
READ_PHOENIX = HERE / "read_phoenix.py"
READ_MLFLOW = HERE / "read_mlflow.py"


def run_chatbot(endpoint: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Run tests/peers/chatbot_app.py against ``endpoint``; return what it printed and its timing."""
    # The app configures itself from its arguments; a developer's OTEL_* settings must not win.
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    started = time.monotonic()
    result = run_json(
        [sys.executable, str(HERE / "chatbot_app.py"), endpoint, *(f"{k}={v}" for k, v in (headers or {}).items())],
        what=f"the chatbot app sending to {endpoint}",
        env=env,
        replace_env=True,
    )
    result["seconds"] = time.monotonic() - started
    return result
