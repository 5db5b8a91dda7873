"""Helpers for the REST API tests: real traces through the real OTLP/HTTP exporter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_feedback_collector.server import CollectorServer


@dataclass(frozen=True)
class SentTrace:
    """The ids of a trace sent to the collector: a CHAIN root and an LLM child."""

    trace_id: str
    root_span_id: str
    llm_span_id: str


def send_trace(
    server: CollectorServer,
    *,
    question: str = "What is MLflow?",
    answer: str = "An open source platform.",
    service: str = "chatbot",
    token: str | None = None,
    flush: bool = True,
) -> SentTrace:
    """Export one trace with the real OTLP/HTTP exporter; with ``flush`` make it queryable."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    exporter = OTLPSpanExporter(endpoint=f"{server.http_url}/v1/traces", headers=headers, timeout=10)
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("api-tests")
    with tracer.start_as_current_span(
        "chat_app", attributes={"openinference.span.kind": "CHAIN", "input.value": question, "output.value": answer}
    ) as root:
        with tracer.start_as_current_span(
            "llm", attributes={"openinference.span.kind": "LLM", "gen_ai.usage.input_tokens": 7}
        ) as llm:
            pass
    provider.shutdown()
    if flush:
        server.store.flush()
    return SentTrace(
        trace_id=f"{root.get_span_context().trace_id:032x}",
        root_span_id=f"{root.get_span_context().span_id:016x}",
        llm_span_id=f"{llm.get_span_context().span_id:016x}",
    )


def log_rows(server: CollectorServer, sql_where: str = "TRUE", params: list[Any] | None = None) -> list[dict[str, Any]]:
    """``assessment_log`` rows after a flush, oldest first."""
    server.store.flush()
    connection = server.store.connect()
    try:
        cursor = connection.execute(
            f"SELECT * FROM assessment_log WHERE {sql_where} ORDER BY created_time_unix_nano", params or []
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        connection.close()


def current_rows(server: CollectorServer, trace_id: str) -> list[dict[str, Any]]:
    """The ``assessments`` view (current state) of a trace after a flush."""
    server.store.flush()
    connection = server.store.connect()
    try:
        cursor = connection.execute(
            "SELECT assessment_id FROM assessments WHERE trace_id = ? ORDER BY created_time_unix_nano", [trace_id]
        )
        return [{"assessment_id": row[0]} for row in cursor.fetchall()]
    finally:
        connection.close()


def preflight(url: str, *, origin: str, method: str = "POST", headers: str = "content-type") -> httpx.Response:
    """A browser's CORS preflight (no credentials) for ``method`` on ``url``."""
    return httpx.options(
        url,
        headers={"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
    )
