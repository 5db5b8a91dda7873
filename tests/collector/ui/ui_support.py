"""Helpers for the web UI tests: traces through the real OTLP/HTTP exporter, a big trace
written straight to the store, the demo's data, and a page on another origin."""

from __future__ import annotations

import http.server
import os
import random
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_feedback_collector.server import CollectorServer

REPO = Path(__file__).resolve().parents[3]


def send_trace(
    server: CollectorServer,
    *,
    service: str = "chatbot",
    question: str = "What is MLflow?",
    answer: str = "An open source platform.",
    root_attributes: Mapping[str, Any] | None = None,
    child_attributes: Mapping[str, Any] | None = None,
    child_name: str = "llm",
    root_name: str = "chat_app",
) -> tuple[str, str, str]:
    """Export a CHAIN root with an LLM child through OTLP/HTTP; return (trace, root, child) ids
    once they are queryable."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{server.http_url}/v1/traces")))
    tracer = provider.get_tracer("ui-tests")
    attributes = {"openinference.span.kind": "CHAIN", "input.value": question, "output.value": answer}
    with tracer.start_as_current_span(root_name, attributes={**attributes, **(root_attributes or {})}) as root:
        with tracer.start_as_current_span(
            child_name, attributes={"openinference.span.kind": "LLM", **(child_attributes or {})}
        ) as child:
            pass
    provider.shutdown()
    server.store.flush()
    return (
        f"{root.get_span_context().trace_id:032x}",
        f"{root.get_span_context().span_id:016x}",
        f"{child.get_span_context().span_id:016x}",
    )


def write_big_trace(server: CollectorServer, *, span_count: int, chunk: int = 5000) -> tuple[str, str]:
    """Write one trace of ``span_count`` spans (a root, 100 CHAIN children, the rest TOOL
    grandchildren) with ``store.write_traces`` in chunks; return (trace id, last span's name
    in tree order)."""
    rng = random.Random(7)
    trace_id = rng.randbytes(16)
    ids = [rng.randbytes(8) for _ in range(span_count)]
    start = 1_764_000_000_000_000_000
    groups = 100
    spans: list[Span] = []
    last_name = ""
    for index in range(span_count):
        if index == 0:
            parent, kind = b"", "AGENT"
        elif index <= groups:
            parent, kind = ids[0], "CHAIN"
        else:
            parent, kind = ids[1 + (index - groups - 1) % groups], "TOOL"
        span = Span(
            trace_id=trace_id,
            span_id=ids[index],
            parent_span_id=parent,
            name=f"span-{index:05d}",
            start_time_unix_nano=start + index * 1000,
            end_time_unix_nano=start + index * 1000 + 500_000,
            attributes=[KeyValue(key="openinference.span.kind", value=AnyValue(string_value=kind))],
        )
        spans.append(span)
    # Tree order: the last CHAIN group's last TOOL child is the last row.
    last_group_children = [i for i in range(groups + 1, span_count) if 1 + (i - groups - 1) % groups == groups]
    last_name = f"span-{last_group_children[-1]:05d}" if last_group_children else f"span-{span_count - 1:05d}"
    resource = {"service.name": "big-service"}
    for offset in range(0, span_count, chunk):
        request = ExportTraceServiceRequest(
            resource_spans=[
                ResourceSpans(
                    resource={"attributes": [KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in resource.items()]},
                    scope_spans=[ScopeSpans(spans=spans[offset : offset + chunk])],
                )
            ]
        )
        server.store.write_traces(request)
    server.store.flush()
    return trace_id.hex(), last_name


def make_demo_data(directory: Path) -> Path:
    """Run the demo's first steps (traced chatbot, thumbs-down; stand-in model) into ``directory``/data."""
    data_dir = directory / "data"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("OPENAI_API_KEY", None)
    subprocess.run(
        [sys.executable, "-m", "otel_feedback.cli", "demo", "--no-serve", "--data", str(data_dir),
         "--port", "0", "--grpc-port", "0", "--until", "feedback"],
        check=True, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120,
    )
    return data_dir


def copy_data(source: Path, destination: Path) -> Path:
    """A private copy of a data directory (without the previous owner's lock file)."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("collector.lock"))
    return destination


@contextmanager
def page_server(html: str) -> Iterator[str]:
    """Serve ``html`` at ``/`` on a free loopback port (another origin); yield its URL."""
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def checked_page(browser: Any, width: int = 1280, height: int = 800) -> Iterator[Any]:
    """A fresh page of that size that fails the test on any JavaScript dialog or page error."""
    context = browser.new_context(viewport={"width": width, "height": height})
    new_page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []
    new_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    new_page.on("pageerror", lambda error: errors.append(str(error)))
    new_page.set_default_timeout(15_000)
    yield new_page
    context.close()
    assert dialogs == [], f"a JavaScript dialog opened: {dialogs}"
    assert errors == [], f"the page raised: {errors}"
