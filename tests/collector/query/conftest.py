"""Fixtures for the search tests: the known data directory and a read connection on it."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
from search_dataset import SearchData, build_search_data

from otel_feedback_collector.storage import connect


@pytest.fixture(scope="module")
def search_data(tmp_path_factory: pytest.TempPathFactory) -> SearchData:
    """Five traces with feedback, an override, a delete and an expectation, on disk."""
    return build_search_data(tmp_path_factory.mktemp("search") / "data")


@pytest.fixture
def connection(search_data: SearchData) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh read connection with the views over the search data."""
    conn = connect(search_data.data_dir)
    yield conn
    conn.close()
