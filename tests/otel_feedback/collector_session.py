"""Sending this process's spans to a real collector, without disturbing the global provider.

The SDK tests share one global TracerProvider (tests/conftest.py). ``exporting_to`` gives
otel_feedback its own tracer and logger providers with batching OTLP/HTTP exporters aimed at a collector, points
``configure(endpoint)`` at it, and restores ``otel_feedback._config.settings`` afterwards.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from otel_feedback import _config
from otel_feedback._config import configure

_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True)
class Exporting:
    """The two providers ``exporting_to`` set up: spans and assessments (log records)."""

    tracer_provider: TracerProvider
    logger_provider: LoggerProvider

    def force_flush(self, timeout_millis: int) -> bool:
        """Send every pending span and log record now; True when both went out."""
        spans_out = self.tracer_provider.force_flush(timeout_millis)
        return self.logger_provider.force_flush(timeout_millis) and spans_out


@contextmanager
def exporting_to(http_url: str, *, service_name: str = "sdk-tests", token: str | None = None) -> Iterator[Exporting]:
    """Our spans (and feedback) go to ``http_url`` over OTLP/HTTP for the duration of the block."""
    saved = dataclasses.replace(_config.settings)
    headers = {"Authorization": f"Bearer {token}"} if token else None
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{http_url}/v1/traces", headers=headers), schedule_delay_millis=50)
    )
    logger_provider = LoggerProvider(resource=provider.resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{http_url}/v1/logs", headers=headers), schedule_delay_millis=50)
    )
    configure(http_url, tracer_provider=provider, logger_provider=logger_provider, token=token)
    try:
        yield Exporting(provider, logger_provider)
    finally:
        provider.shutdown()
        logger_provider.shutdown()
        for field in dataclasses.fields(saved):
            setattr(_config.settings, field.name, getattr(saved, field.name))
        _config._reset_tracer()


@contextmanager
def configured_endpoint(url: str | None, *, token: str | None = None) -> Iterator[None]:
    """``settings.endpoint`` (and the token header) set to ``url`` for the block, then restored."""
    saved = dataclasses.replace(_config.settings)
    _config.settings.endpoint = url
    _config.settings.headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        yield
    finally:
        for field in dataclasses.fields(saved):
            setattr(_config.settings, field.name, getattr(saved, field.name))


def wait_for(probe: Callable[[], _T | None], *, timeout: float = 15.0, what: str = "the condition") -> _T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def stored_count(data_dir: Path, sql: str, params: list | None = None) -> int:
    """``SELECT count(*) ...`` over a fresh read connection on the data directory."""
    from otel_feedback_collector.storage import connect

    connection = connect(data_dir)
    try:
        return int(connection.execute(sql, params or []).fetchone()[0])
    finally:
        connection.close()
