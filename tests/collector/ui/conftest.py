"""Fixtures for the web UI tests: collectors on free loopback ports, the demo's data, and pages
in the headless Chromium of tests/conftest.py."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from otel_feedback_collector.server import CollectorServer  # noqa: E402
from ui_support import checked_page, copy_data, make_demo_data  # noqa: E402


@pytest.fixture
def collector(start_collector: Callable[..., CollectorServer]) -> CollectorServer:
    """One empty collector with default settings (HTTP only)."""
    return start_collector(grpc_port=None)


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's data directory (made once; tests serve private copies)."""
    return make_demo_data(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def demo_collector(
    demo_data: Path, tmp_path: Path, start_collector: Callable[..., CollectorServer]
) -> CollectorServer:
    """A collector serving a private copy of the demo's data."""
    return start_collector(data_dir=copy_data(demo_data, tmp_path / "demo-copy"), grpc_port=None)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page at 1280x800 (see checked_page)."""
    with checked_page(browser) as new_page:
        yield new_page
