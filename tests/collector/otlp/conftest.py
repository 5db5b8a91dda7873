"""Fixtures for the OTLP receiver tests: a recording store and collectors on free loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from collector.server import CollectorServer
from otlp_recording_store import RecordingStore


@pytest.fixture
def recording_store() -> RecordingStore:
    """A fresh recording store."""
    return RecordingStore()


@pytest.fixture
def start_collector(tmp_path: Path) -> Iterator[Callable[..., CollectorServer]]:
    """Start collectors on free loopback ports (``store=`` to inject one); all stopped afterwards."""
    started: list[CollectorServer] = []

    def start(**options: Any) -> CollectorServer:
        options.setdefault("port", 0)
        options.setdefault("grpc_port", 0)
        data_dir = options.pop("data_dir", tmp_path / f"data-{len(started)}")
        server = CollectorServer(data_dir, **options)
        server.start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def recording_collector(
    start_collector: Callable[..., CollectorServer], recording_store: RecordingStore
) -> CollectorServer:
    """A collector writing into ``recording_store``."""
    return start_collector(store=recording_store)
