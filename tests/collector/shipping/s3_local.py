"""A local S3-compatible server for the tests: moto's, as its own process on a free loopback port.

Started and stopped with the helpers the peer tests use; the tests talk to it through
pyarrow's S3 file system, as users would.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.fs as pafs

_TESTS = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(_TESTS / "peers"))  # free_port, running_server
sys.path.insert(0, str(_TESTS / "collector" / "storage"))  # otlp_builders

from peer_servers import free_port, running_server  # noqa: E402

# Throw-away credentials of the local server; a real secret never appears in these tests.
ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-5ab0c2e1d9"

__all__ = ["ACCESS_KEY", "SECRET_KEY", "bucket_creator", "free_port", "moto_server"]


def moto_server(log_dir: Path, name: str, env: dict[str, str]) -> Iterator[str]:
    """Run a moto server until the generator is closed; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    url = f"http://127.0.0.1:{port}"
    with running_server(name, command, url=url, health_path="/moto-api/", env=env, log_dir=log_dir):
        yield url


def bucket_creator(endpoint: str) -> pafs.S3FileSystem:
    """A file system on ``endpoint`` that may create buckets (``create_dir("name")``); the
    shipper itself never creates one."""
    return pafs.S3FileSystem(
        endpoint_override=endpoint.removeprefix("http://"), scheme="http", region="us-east-1",
        allow_bucket_creation=True,
    )
