"""Fixtures for the storage tests: a real SpanStore on a temporary data directory."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from otel_feedback_collector.storage import SpanStore  # noqa: E402


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh data directory path."""
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> Iterator[SpanStore]:
    """An open store with a short flush interval and no background compaction surprises."""
    span_store = SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000)
    span_store.open()
    yield span_store
    span_store.close()
