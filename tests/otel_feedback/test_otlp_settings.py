"""One rule for where the SDK's two OTLP exporters (spans, assessment logs) send."""

from __future__ import annotations

import pytest

from otel_feedback._otlp_settings import grpc_insecure, http_signal_url, resolve_otlp_protocol


@pytest.mark.parametrize("signal", ["traces", "logs"])
@pytest.mark.parametrize(
    "endpoint", ["http://c:4318", "http://c:4318/", "http://c:4318/v1/traces", "http://c:4318/v1/logs"]
)
def test_either_signal_url_names_the_same_collector(endpoint: str, signal: str) -> None:
    assert http_signal_url(endpoint, signal=signal, default="http://x") == f"http://c:4318/v1/{signal}"


def test_without_an_endpoint_the_standard_variables_decide(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert http_signal_url(None, signal="logs", default="http://d:1") == "http://d:1/v1/logs"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://e:2/v1/logs")
    assert http_signal_url(None, signal="logs", default="http://d:1") is None
    assert http_signal_url(None, signal="traces", default="http://d:1") == "http://d:1/v1/traces"


def test_protocol_per_signal_then_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf")
    assert resolve_otlp_protocol(None, signal="logs") == "http/protobuf"
    assert resolve_otlp_protocol(None, signal="traces") == "grpc"
    with pytest.raises(ValueError, match="http/json"):
        resolve_otlp_protocol("http/json", signal="traces")
    assert grpc_insecure("https://c:4317") is False and grpc_insecure("c:4317") is True
