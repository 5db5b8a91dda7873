"""How the SDK's OTLP exporters (traces and assessment logs) are pointed at a collector.

One rule per setting, for both signals: the protocol (the argument, else the standard
variables), the signal's URL under an HTTP base endpoint, TLS for gRPC, and the message when
the gRPC exporter is not installed.
"""

from __future__ import annotations

import os

PROTOCOLS = ("http/protobuf", "grpc")
_SIGNAL_PATHS = ("/v1/traces", "/v1/logs")


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


def http_signal_url(endpoint: str | None, *, signal: str, default: str) -> str | None:
    """The OTLP/HTTP URL of ``signal`` under a base endpoint (a URL already naming either
    signal's path counts as the base). None when the standard variables should decide:
    no endpoint given and ``OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`` or
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` set; ``default`` when none of them is."""
    if endpoint is None:
        if os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT") or os.environ.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        ):
            return None
        endpoint = default
    base = endpoint.rstrip("/")
    for path in _SIGNAL_PATHS:
        if base.endswith(path):
            base = base[: -len(path)]
            break
    return f"{base}/v1/{signal}"


def grpc_insecure(endpoint: str | None) -> bool | None:
    """gRPC's ``insecure`` flag for an endpoint: plaintext unless it says https (None: the
    exporter's own default from the variables)."""
    if endpoint is None:
        return None
    return not endpoint.startswith("https://")


def grpc_exporter_missing(error: ImportError) -> ImportError:
    """The error for ``protocol='grpc'`` without the OTLP/gRPC exporter installed."""
    return ImportError(
        f"protocol 'grpc' needs the OTLP/gRPC exporter, which is not installed ({error}): "
        'pip install "otel-feedback[grpc]", or use the default protocol http/protobuf'
    )
