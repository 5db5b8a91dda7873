"""Fixtures shared by the collector tests: collectors on free loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from collector.server import CollectorServer


@pytest.fixture
def start_collector(tmp_path: Path) -> Iterator[Callable[..., CollectorServer]]:
    """Start collectors on free loopback ports (HTTP and gRPC unless ``grpc_port=None``; ``store=``
    to inject one); every one is stopped after the test."""
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
