"""The OTLP protocol a signal's exporter uses: the argument, else the standard variables."""

from __future__ import annotations

import os

PROTOCOLS = ("http/protobuf", "grpc")


def resolve_otlp_protocol(protocol: str | None, *, signal: str) -> str:
    """``protocol`` as given, else ``OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL``, else
    ``OTEL_EXPORTER_OTLP_PROTOCOL``, else http/protobuf; ``signal`` is ``traces`` or ``logs``."""
    value = (
        protocol
        or os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip().lower()
    if value not in PROTOCOLS:
        raise ValueError(
            f"protocol must be 'http/protobuf' or 'grpc'; got {value!r} "
            "(the Python OTLP exporters have no http/json)"
        )
    return value
