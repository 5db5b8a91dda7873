"""Shared test fixtures.

The process-wide TracerProvider is the OTel SDK's, with a synchronous processor feeding an
in-memory exporter: spans from ``@trace`` and the instrumentors land there the moment they end.
The process-wide LoggerProvider likewise keeps the log records (assessments) in memory.
Tests that need a process without a provider (``configure()`` installing one, the app's own
provider being kept) run a subprocess instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import _logs as logs_api
from opentelemetry import trace as trace_api
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

# The session-scoped ``spark`` fixture (local SparkSession), for any test that asks for it.
from spark_support import spark  # noqa: E402,F401

_EXPORTER = InMemorySpanExporter()
_PROVIDER = TracerProvider()
_PROVIDER.add_span_processor(SimpleSpanProcessor(_EXPORTER))
trace_api.set_tracer_provider(_PROVIDER)

_LOG_EXPORTER = InMemoryLogRecordExporter()
_LOGGER_PROVIDER = LoggerProvider()
_LOGGER_PROVIDER.add_log_record_processor(SimpleLogRecordProcessor(_LOG_EXPORTER))
logs_api.set_logger_provider(_LOGGER_PROVIDER)


class FinishedSpans:
    """The spans exported so far in this test, with lookups by name."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self._exporter = exporter

    def all(self) -> list[ReadableSpan]:
        return list(self._exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.all() if span.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, f"expected one span named {name!r}, got {[s.name for s in self.all()]}"
        return found[0]

    def clear(self) -> None:
        self._exporter.clear()


@pytest.fixture
def spans() -> Iterator[FinishedSpans]:
    """The in-memory exporter behind the global provider, emptied before and after the test."""
    _EXPORTER.clear()
    yield FinishedSpans(_EXPORTER)
    _EXPORTER.clear()


class EmittedLogRecords:
    """The log records emitted so far in this test (assessments are log records)."""

    def __init__(self, exporter: InMemoryLogRecordExporter) -> None:
        self._exporter = exporter

    def all(self) -> list[ReadableLogRecord]:
        return list(self._exporter.get_finished_logs())

    def one(self) -> ReadableLogRecord:
        found = self.all()
        assert len(found) == 1, f"expected one log record, got {len(found)}"
        return found[0]

    def clear(self) -> None:
        self._exporter.clear()


@pytest.fixture
def log_records() -> Iterator[EmittedLogRecords]:
    """The in-memory exporter behind the global LoggerProvider, emptied before and after the test."""
    _LOG_EXPORTER.clear()
    yield EmittedLogRecords(_LOG_EXPORTER)
    _LOG_EXPORTER.clear()


# Debian's chromium (installed by scripts/install-debian.sh); Playwright's own download does
# not work here. The flags keep it from reaching for the network at start.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for one test module.

    Module-scoped on purpose: Playwright's sync API runs an event loop in this thread while it is
    started, so it must be stopped before other modules' tests call ``asyncio.run``.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()
