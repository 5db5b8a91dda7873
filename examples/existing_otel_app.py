"""An app that already has OpenTelemetry: its own TracerProvider and exporter, plus our decorators.

The app sets up OpenTelemetry the usual way (a resource, a BatchSpanProcessor, the OTLP/HTTP
exporter pointed at the collector). ``otel_feedback.configure()`` sees that provider, uses it and
changes nothing about it; ``@trace`` spans then nest under the app's own spans (here, a
hand-made "HTTP request" span standing for a web framework's instrumentation).

Run against a collector (``otel-feedback serve`` or the demo's)::

    .venv/bin/python examples/existing_otel_app.py --collector http://127.0.0.1:4318
"""

from __future__ import annotations

import argparse

from opentelemetry import trace as trace_api
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

import otel_feedback
from otel_feedback import trace


def set_up_opentelemetry(collector: str) -> TracerProvider:
    """What the app already had before adopting otel-feedback."""
    provider = TracerProvider(resource=Resource.create({"service.name": "existing-app"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{collector}/v1/traces")))
    trace_api.set_tracer_provider(provider)
    return provider


@trace(span_type="RETRIEVER")
def search_docs(query: str) -> list[str]:
    return [f"a document about {query}"]


@trace(span_type="LLM")
def summarize(query: str, documents: list[str]) -> str:
    return f"{documents[0]} answers '{query}'"


@trace
def handle(query: str) -> str:
    return summarize(query, search_docs(query))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--collector", default="http://127.0.0.1:4318")
    args = parser.parse_args()

    provider = set_up_opentelemetry(args.collector)
    config = otel_feedback.configure(args.collector, experiment="existing-app")
    print(f"otel-feedback installed its own provider: {config.installed_provider}")  # False: the app's is kept

    app_tracer = trace_api.get_tracer("web-framework")
    with app_tracer.start_as_current_span("POST /ask"):  # the framework's span
        answer = handle("spans")
    trace_id = otel_feedback.get_last_active_trace_id()
    provider.force_flush()
    print(f"answer: {answer}")
    print(f"trace id: {trace_id}")


if __name__ == "__main__":
    main()
