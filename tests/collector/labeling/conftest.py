"""Fixtures for the labeling tests: a collector holding the tutorial's demo traces, users in its
catalog, and a signed-in review-app client."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "otel_feedback"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))

from collector_session import configured_endpoint  # noqa: E402
from review_support import PASSWORDS, sign_in  # noqa: E402
from ui_support import copy_data, make_demo_data  # noqa: E402

from otel_feedback_collector.catalog import CatalogDatabase  # noqa: E402
from otel_feedback_collector.catalog.users import add_user  # noqa: E402
from otel_feedback_collector.server import CollectorServer  # noqa: E402



@pytest.fixture(scope="session")
def demo_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's data, made once in a subprocess (the demo configures this process's SDK)."""
    return make_demo_data(tmp_path_factory.mktemp("labeling-demo"))


@pytest.fixture
def demo_dir(demo_source: Path, tmp_path: Path) -> Path:
    """A private copy of the tutorial's four traces and the end user's thumbs-down, with users."""
    data = copy_data(demo_source, tmp_path / "data")
    catalog = CatalogDatabase(data)
    for name, password in PASSWORDS.items():
        add_user(catalog, name, password=password)
    return data


@pytest.fixture
def collector(demo_dir: Path) -> Iterator[CollectorServer]:
    """The collector on the demo data directory, with the SDK configured to use it."""
    with CollectorServer(demo_dir, port=0, grpc_port=None) as server:
        with configured_endpoint(server.http_url):
            yield server


@pytest.fixture
def demo_trace_ids(collector: CollectorServer) -> list[str]:
    """The demo's trace ids, the thumbs-down one first."""
    connection = collector.store.connect()
    try:
        down = connection.execute("SELECT trace_id FROM assessments WHERE name = 'user_feedback'").fetchone()[0]
        others = [row[0] for row in connection.execute("SELECT trace_id FROM traces ORDER BY start_time").fetchall()]
    finally:
        connection.close()
    return [down, *[trace_id for trace_id in others if trace_id != down]]


@pytest.fixture
def reviewer(collector: CollectorServer) -> Iterator[Callable[[str], httpx.Client]]:
    """Sign-in factory; every client is closed after the test."""
    clients: list[httpx.Client] = []

    def make(name: str) -> httpx.Client:
        client = sign_in(collector.http_url, name)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
