"""The Host allow-list (DNS rebinding): requests naming the collector by an allowed name pass on
every route, requests naming it by any other name get 421 and change nothing."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest
from access_support import export, span_count, write_assessment
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_feedback_collector.access import allowed_hosts_for, parse_allowed_host
from otel_feedback_collector.access.allowed_hosts import host_name
from otel_feedback_collector.server import CollectorServer

EVIL = "evil.example"


def port_of(server: CollectorServer) -> int:
    return int(urlsplit(server.http_url).port or 0)


@pytest.fixture
def collector(start_collector: Callable[..., CollectorServer]) -> CollectorServer:
    return start_collector(grpc_port=None)


def test_a_rebinding_write_with_a_matching_origin_is_refused_and_stores_nothing(collector: CollectorServer) -> None:
    trace_id = "0123456789abcdef0123456789abcdef"
    assert export(collector, trace_id=trace_id).status_code == 200
    port = port_of(collector)
    evil = {"Host": f"{EVIL}:{port}", "Origin": f"http://{EVIL}:{port}"}
    answer = write_assessment(collector, trace_id, headers=evil)
    assert answer.status_code == 421
    assert "--allowed-host evil.example" in answer.text and "DNS rebinding" in answer.text
    assert export(collector, headers=evil).status_code == 421
    assert span_count(collector) == 1
    for path in ("/", f"/traces/{trace_id}", f"/api/v1/traces/{trace_id}", "/review/signin", "/healthz",
                 "/api/openapi.json"):
        assert httpx.get(collector.http_url + path, headers=evil).status_code == 421, path
    history = httpx.get(f"{collector.http_url}/api/v1/traces/{trace_id}/assessments", params={"history": "true"})
    assert history.json()["assessments"] == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST.", "[::1]"])
def test_loopback_names_pass_with_any_port(collector: CollectorServer, host: str) -> None:
    trace_id = "abcdef0123456789abcdef0123456789"
    for with_port in (f"{host}:{port_of(collector)}", host, f"{host}:1"):
        assert export(collector, headers={"Host": with_port}, trace_id=trace_id).status_code == 200
        assert httpx.get(f"{collector.http_url}/", headers={"Host": with_port}).status_code == 200
    answer = write_assessment(collector, trace_id, headers={"Host": f"{host}:{port_of(collector)}"})
    assert answer.status_code == 201, answer.text


def test_sdk_exporters_to_localhost_and_127_0_0_1_keep_working(collector: CollectorServer) -> None:
    port = port_of(collector)
    for base in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        provider = TracerProvider(resource=Resource.create({"service.name": "hosts"}))
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces")))
        with provider.get_tracer("hosts").start_as_current_span("one"):
            pass
        provider.shutdown()
    assert span_count(collector) == 2


@pytest.mark.parametrize("header", [b"", b"Host: \r\n", b"Host: 127.0.0.1:x\r\n", b"Host: [::1\r\n"])
def test_missing_or_malformed_host_headers_are_refused(collector: CollectorServer, header: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port_of(collector)), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.0\r\n" + header + b"\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 421") or reply.startswith(b"HTTP/1.1 400"), reply[:200]


def test_allowed_hosts_extend_the_defaults_and_domains_match_subdomains(
    start_collector: Callable[..., CollectorServer],
) -> None:
    server = start_collector(grpc_port=None, allowed_hosts=["collector.internal", ".example.org"])
    for host in ("collector.internal:443", "example.org", "a.b.example.org:4318", "127.0.0.1"):
        assert export(server, headers={"Host": host}).status_code == 200, host
    for host in ("badexample.org", "collector.internal.evil.example", EVIL, "internal"):
        assert export(server, headers={"Host": host}).status_code == 421, host
    assert span_count(server) == 4


def test_the_bind_address_is_allowed_and_a_wildcard_adds_only_its_literal(
    start_collector: Callable[..., CollectorServer],
) -> None:
    server = start_collector(grpc_port=None, host="127.0.0.2")
    assert server.http_url.startswith("http://127.0.0.2:")
    assert export(server).status_code == 200  # Host: 127.0.0.2:port, from the URL
    assert export(server, headers={"Host": "127.0.0.3"}).status_code == 421
    assert allowed_hosts_for("0.0.0.0") == ("localhost", "127.0.0.1", "::1", "0.0.0.0")
    assert allowed_hosts_for("::") == ("localhost", "127.0.0.1", "::1", "::")
    assert allowed_hosts_for("10.0.0.5", ["Box.Local.", "[fe80::1]"]) == (
        "localhost", "127.0.0.1", "::1", "10.0.0.5", "box.local", "fe80::1")


def test_a_wildcard_bind_answers_its_url_and_loopback_but_not_other_names() -> None:
    # In-process (no socket on all interfaces in a test): the app a collector bound to 0.0.0.0 gets.
    from starlette.testclient import TestClient

    from otel_feedback_collector.app import build_app
    from otel_feedback_collector.app_context import AppContext

    context = AppContext(store=None, pipeline=None, data_dir=None, max_body_bytes=1,  # type: ignore[arg-type]
                         allowed_hosts=allowed_hosts_for("0.0.0.0"))
    app = build_app(context)
    for base in ("http://0.0.0.0:4318", "http://127.0.0.1:4318", "http://localhost"):
        with TestClient(app, base_url=base) as client:
            assert client.get("/healthz").status_code == 200, base
    with TestClient(app, base_url=f"http://{EVIL}:4318") as client:
        assert client.get("/healthz").status_code == 421


def test_star_turns_the_check_off(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(grpc_port=None, allowed_hosts=["*"])
    assert export(server, headers={"Host": EVIL}).status_code == 200


def test_host_name_and_parsing_rules() -> None:
    assert host_name("Example.COM:80") == "example.com"
    assert host_name("[::1]:4318") == "::1"
    assert host_name("[::1]x") is None
    assert host_name("a:b") is None
    for bad in ("http://x.example", "x.example:4318", "a b", "", "x/y", "-x.example"):
        with pytest.raises(ValueError, match="--allowed-host"):
            parse_allowed_host(bad)


def test_serve_refuses_a_bad_allowed_host_with_a_plain_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "otel_feedback.cli", "serve", "--data", str(tmp_path / "d"), "--port", "0",
         "--allowed-host", "http://collector.example"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "is not a host name for --allowed-host" in result.stderr
