"""Fixtures for the OTLP receiver tests: a recording store and collectors on free loopback ports."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from otel_feedback_collector.server import CollectorServer
from otlp_recording_store import RecordingStore


@pytest.fixture
def recording_store() -> RecordingStore:
    """A fresh recording store."""
    return RecordingStore()


@pytest.fixture
def recording_collector(
    start_collector: Callable[..., CollectorServer], recording_store: RecordingStore
) -> CollectorServer:
    """A collector writing into ``recording_store``."""
    return start_collector(store=recording_store)
