"""Spark in local mode for the tests that read a data directory with Spark.

``spark`` is a session-scoped pytest fixture (registered for every test by tests/conftest.py):
one local SparkSession (one core, small memory, no web UI, quiet logs, UTC) started at first use
and stopped when the test session ends. pyspark comes from PyPI (the ``dev`` extra) and runs in
Debian's Java 17 (scripts/install-debian.sh, called by ``make test``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Settings of the one test session: what a laptop or a CI runner can spare, nothing listening
# beyond loopback, and timestamps shown in UTC like our files hold them.
SPARK_CONFIG = {
    "spark.master": "local[1]",
    "spark.app.name": "otel-feedback-tests",
    "spark.driver.memory": "512m",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "1",
    "spark.sql.session.timeZone": "UTC",
}


def start_spark() -> SparkSession:
    """A new local SparkSession with ``SPARK_CONFIG``; stop it when done."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for key, value in SPARK_CONFIG.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """One local SparkSession for the whole test session, stopped at its end."""
    session = start_spark()
    try:
        yield session
    finally:
        session.stop()


__all__ = ["SPARK_CONFIG", "spark", "start_spark"]
