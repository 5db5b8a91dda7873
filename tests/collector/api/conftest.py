"""Fixtures for the REST API tests: collectors on free loopback ports and httpx clients."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from otel_feedback_collector.server import CollectorServer  # noqa: E402


@pytest.fixture
def collector(start_collector: Callable[..., CollectorServer]) -> CollectorServer:
    """One collector with default settings (HTTP only, no token, no CORS origins)."""
    return start_collector(grpc_port=None)


@pytest.fixture
def client(collector: CollectorServer) -> Iterator[httpx.Client]:
    """An httpx client for ``collector``'s API."""
    with httpx.Client(base_url=f"{collector.http_url}/api/v1", timeout=30) as http:
        yield http
