"""A one-line progress bar on stderr, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

_WIDTH = 30
_REDRAW_SECONDS = 0.1


class ProgressBar:
    """Counts finished rows; redraws at most ten times a second; silent when not on a TTY."""

    def __init__(self, total: int, *, label: str = "evaluate", stream: TextIO | None = None,
                 enabled: bool | None = None) -> None:
        self.total = total
        self.done = 0
        self._label = label
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = _is_terminal(self._stream) if enabled is None else enabled
        self._started = time.monotonic()
        self._drawn_at = 0.0
        self._lock = threading.Lock()

    def advance(self, count: int = 1) -> None:
        """Record ``count`` more finished rows."""
        with self._lock:
            self.done += count
            now = time.monotonic()
            if self._enabled and (now - self._drawn_at >= _REDRAW_SECONDS or self.done >= self.total):
                self._drawn_at = now
                self._draw(now)

    def close(self) -> None:
        """Finish the line."""
        with self._lock:
            if self._enabled:
                self._draw(time.monotonic())
                self._stream.write("\n")
                self._stream.flush()

    def _draw(self, now: float) -> None:
        share = self.done / self.total if self.total else 1.0
        filled = int(share * _WIDTH)
        bar = "#" * filled + "-" * (_WIDTH - filled)
        self._stream.write(f"\r{self._label} [{bar}] {self.done}/{self.total} rows {now - self._started:.1f}s")
        self._stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
