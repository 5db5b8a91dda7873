"""Virtualenvs for the peer tools (Arize Phoenix, MLflow), built once and kept in a cache.

Each tool gets its own environment: their dependency trees are large and pin different
versions of the same packages, and neither must see ours. They are installed with pip from the
package registry only, into ``.peer-venvs/`` at the repository root (git-ignored) or the folder
named by ``OTEL_FEEDBACK_PEER_VENVS``. A folder's name carries a hash of its requirements and the
Python version, so changing a pin builds a new one; a half-built folder is never used (it is
built under a temporary name and renamed when pip has finished).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_VARIABLE = "OTEL_FEEDBACK_PEER_VENVS"
# A cold install of either tool takes a few minutes here; pip's own timeout is per request.
INSTALL_TIMEOUT_S = 900


@dataclass(frozen=True)
class PeerVenv:
    """A ready environment: its folder, its interpreter, and how long building it took."""

    path: Path
    build_seconds: float | None  # None when it came from the cache

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name


def cache_root() -> Path:
    """Where the environments live (``OTEL_FEEDBACK_PEER_VENVS`` or ``<repo>/.peer-venvs``)."""
    return Path(os.environ.get(CACHE_VARIABLE) or REPO_ROOT / ".peer-venvs")


def ensure_venv(name: str, requirements: list[str]) -> PeerVenv:
    """Return the environment for ``requirements``, building it first when it is not cached."""
    key = hashlib.sha256("\n".join([sys.version, *requirements]).encode()).hexdigest()[:12]
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"{name}-{key}"
    # One builder at a time per machine: a second test run waits rather than building twice.
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "bin" / "python").exists():
            return PeerVenv(target, None)
        return PeerVenv(target, _build(target, requirements))


def _build(target: Path, requirements: list[str]) -> float:
    building = target.with_name(target.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    started = time.monotonic()
    _run([sys.executable, "-m", "venv", str(building)], what=f"creating the virtualenv {building}")
    _run(
        [str(building / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
        what=f"installing {' '.join(requirements)} with pip",
    )
    # venv scripts carry their folder in their shebang lines: fix them before the rename.
    _rewrite_shebangs(building, target)
    building.rename(target)
    return time.monotonic() - started


def _rewrite_shebangs(building: Path, target: Path) -> None:
    old, new = str(building).encode(), str(target).encode()
    for script in (building / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            content = script.read_bytes()
            if content.startswith(b"#!") and old in content:
                script.write_bytes(content.replace(old, new))


def _run(command: list[str], *, what: str) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"{what} took longer than {INSTALL_TIMEOUT_S} s; check that the package registry is reachable.") from error
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {result.returncode}); fix the requirement pins in tests/peers/conftest.py "
            f"or the registry access.\n--- stderr (last 3000 characters) ---\n{result.stderr[-3000:]}"
        )
