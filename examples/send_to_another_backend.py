"""Traces go to any OTLP backend; the collector can pass a copy on to the one you already use.

Two ways to keep an existing backend (Jaeger, Tempo, an OpenTelemetry Collector...):

1. Send from the app to the other backend directly: ``configure(OTHER_URL)`` — our spans are
   plain OTLP, every backend reads them.
2. Send to our collector started with ``--forward OTHER_URL``: it stores the spans and forwards a
   copy of everything it receives, so adding it cuts no one off.

This script shows the first way, plus the environment-variable form every OTel SDK honours::

    OTEL_EXPORTER_OTLP_ENDPOINT=http://other-backend:4318 .venv/bin/python examples/send_to_another_backend.py
    .venv/bin/python examples/send_to_another_backend.py --endpoint http://127.0.0.1:4318

and the second with two collectors::

    otel-feedback serve --data ./backend-data --port 4319 --grpc-port -1
    otel-feedback serve --data ./otel-feedback-data --forward http://127.0.0.1:4319
"""

from __future__ import annotations

import argparse

import otel_feedback
from otel_feedback import trace


@trace(span_type="TOOL")
def lookup_weather(city: str) -> dict[str, object]:
    return {"city": city, "forecast": "sunny", "celsius": 21}


@trace(span_type="AGENT")
def agent(question: str) -> str:
    weather = lookup_weather("Lisbon")
    return f"It is {weather['forecast']} in {weather['city']}."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--endpoint", default=None,
                        help="OTLP/HTTP base URL (default: OTEL_EXPORTER_OTLP_ENDPOINT, then http://127.0.0.1:4318)")
    parser.add_argument("--service-name", default="weather-agent")
    args = parser.parse_args()

    config = otel_feedback.configure(args.endpoint, service_name=args.service_name)
    print(f"installed a provider exporting over OTLP: {config.installed_provider}")
    print(agent("What is the weather in Lisbon?"))
    print(f"trace id: {otel_feedback.get_last_active_trace_id()}")
    print(f"exported: {otel_feedback.flush()}")


if __name__ == "__main__":
    main()
