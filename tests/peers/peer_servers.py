"""Start a peer tool's server on loopback, wait until it answers, and stop it afterwards.

Also the small helpers the peer tests share: free ports, running a script that prints JSON, and
waiting (bounded) until the peer shows what was sent.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

_V = TypeVar("_V")

# A first start creates its database and runs its migrations: tens of seconds on a busy machine.
START_TIMEOUT_S = 180.0
# How long a test waits for spans to show in the peer after the app has flushed them.
SPANS_TIMEOUT_S = 60.0
# Both tools store what they received asynchronously: once the app's spans show, a read this
# much later also shows anything else that arrived with them (a stray extra span, a later end).
SETTLE_S = 3.0

# Neither tool may reach for the network: no usage telemetry, no update checks.
NO_PHONE_HOME = {
    "DO_NOT_TRACK": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PHOENIX_TELEMETRY_ENABLED": "false",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PeerServer:
    """A running peer: its base URL, its log file, and the process to stop."""

    name: str
    url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError as error:
            return f"(no log: {error})"


@contextmanager
def running_server(
    name: str, command: Sequence[str], *, url: str, health_path: str, env: Mapping[str, str], log_dir: Path
) -> Iterator[PeerServer]:
    """Run ``command`` until the block ends; wait until ``url + health_path`` answers 200 first."""
    log_path = log_dir / f"{name}.log"
    full_env = {**os.environ, **NO_PHONE_HOME, **env}
    # Our own OTEL_* settings (e.g. from a developer's shell) must not reach the peer's process.
    for key in [key for key in full_env if key.startswith("OTEL_")]:
        del full_env[key]
    with open(log_path, "wb") as log:
        # A session of its own, so teardown can stop the server and every worker it forked.
        process = subprocess.Popen(
            list(command), stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=log_dir, start_new_session=True
        )
    server = PeerServer(name, url, log_path, process)
    try:
        _wait_healthy(server, url + health_path)
        yield server
    finally:
        _stop(process)


def _wait_healthy(server: PeerServer, health_url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(
                f"{server.name} exited with code {server.process.returncode} before it answered at {health_url}.\n"
                f"--- its log ---\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(health_url, timeout=5) as response:
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as error:
            last_error = str(error)
        time.sleep(0.5)
    raise AssertionError(
        f"{server.name} did not answer at {health_url} within {START_TIMEOUT_S:.0f} s (last: {last_error}).\n"
        f"--- its log ---\n{server.log_tail()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        # Their data is throw-away: a server that takes longer than this to shut down is killed.
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass


def run_json(
    command: Sequence[str], *, what: str, env: Mapping[str, str] | None = None, replace_env: bool = False, timeout: float = 120
) -> Any:
    """Run ``command``, which prints one JSON document on its last stdout line, and return it.

    ``env`` adds to this process's environment, or replaces it with ``replace_env=True``.
    """
    full_env = {**NO_PHONE_HOME, **(env or {})} if replace_env else {**os.environ, **NO_PHONE_HOME, **(env or {})}
    result = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout, env=full_env)
    if result.returncode != 0:
        raise AssertionError(
            f"{what} failed (exit {result.returncode}).\n--- stdout ---\n{result.stdout[-3000:]}\n"
            f"--- stderr ---\n{result.stderr[-5000:]}"
        )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if not lines:
        raise AssertionError(f"{what} printed nothing.\n--- stderr ---\n{result.stderr[-5000:]}")
    return json.loads(lines[-1])


def settled_view(read: Callable[[], _V], ready: Callable[[_V], bool], *, what: str) -> _V:
    """Read until ``ready(view)``, up to ``SPANS_TIMEOUT_S``; then read once more after ``SETTLE_S``.

    On time-out the failure message shows the last view, so it says what the peer returned.
    """
    deadline = time.monotonic() + SPANS_TIMEOUT_S
    view = read()
    while not ready(view):
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"{what} did not show within {SPANS_TIMEOUT_S:.0f} s; the peer last returned:\n"
                f"{json.dumps(view, indent=1, default=str)[:6000]}"
            )
        time.sleep(1.0)
        view = read()
    time.sleep(SETTLE_S)
    return read()
