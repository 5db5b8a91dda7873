"""Fixtures for the shipping tests: a real S3-compatible server (moto's) on loopback."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from s3_local import ACCESS_KEY, SECRET_KEY, bucket_creator, moto_server

_bucket_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a moto S3 server that accepts any credentials."""
    yield from moto_server(tmp_path_factory.mktemp("moto"), "moto", {})


@pytest.fixture(scope="module")
def locked_s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a moto S3 server that checks credentials and knows none: every request is refused."""
    yield from moto_server(tmp_path_factory.mktemp("moto-locked"), "moto-locked", {"INITIAL_NO_AUTH_ACTION_COUNT": "0"})


@pytest.fixture
def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The standard AWS variables set to the local server's throw-away keys (for this process
    and the commands it starts); returns them."""
    values = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": "us-east-1"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    return values


@pytest.fixture
def new_bucket(s3_endpoint: str, s3_credentials: dict[str, str]) -> str:
    """A fresh, empty bucket on the local server; returns its name."""
    name = f"shipped-{next(_bucket_numbers)}"
    bucket_creator(s3_endpoint).create_dir(name)
    return name
