"""The progress bar draws on a terminal only."""

from __future__ import annotations

import io

from otel_feedback.evaluation._progress import ProgressBar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_silent_when_stderr_is_not_a_terminal():
    stream = io.StringIO()
    bar = ProgressBar(3, stream=stream)
    for _ in range(3):
        bar.advance()
    bar.close()
    assert stream.getvalue() == ""


def test_draws_the_count_on_a_terminal():
    stream = _Terminal()
    bar = ProgressBar(2, stream=stream)
    bar.advance()
    bar.advance()
    bar.close()
    assert "2/2 rows" in stream.getvalue() and stream.getvalue().endswith("\n")
    assert "[" + "#" * 30 + "]" in stream.getvalue()
