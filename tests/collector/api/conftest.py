"""Fixtures for the REST API tests: collectors on free loopback ports and httpx clients."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collector.server import CollectorServer  # noqa: E402


@pytest.fixture
def start_collector(tmp_path: Path) -> Iterator[Callable[..., CollectorServer]]:
    """Start collectors (HTTP only, port 0); every one is stopped after the test."""
    started: list[CollectorServer] = []

    def start(**options: Any) -> CollectorServer:
        options.setdefault("port", 0)
        options.setdefault("grpc_port", None)
        data_dir = options.pop("data_dir", tmp_path / f"data-{len(started)}")
        server = CollectorServer(data_dir, **options)
        server.start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def collector(start_collector: Callable[..., CollectorServer]) -> CollectorServer:
    """One collector with default settings (no token, no CORS origins)."""
    return start_collector()


@pytest.fixture
def client(collector: CollectorServer) -> Iterator[httpx.Client]:
    """An httpx client for ``collector``'s API."""
    with httpx.Client(base_url=f"{collector.http_url}/api/v1", timeout=30) as http:
        yield http
