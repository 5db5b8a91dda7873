"""Idle and slow HTTP connections cannot take the port down (collector/connection_guard.py)."""

from __future__ import annotations

import resource
import selectors
import socket
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from otel_feedback_collector.connection_guard import raise_fd_limit
from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.server import CollectorServer

PROTOBUF = {"Content-Type": "application/x-protobuf"}
IDLE_SOCKETS = 1100  # more than the 1,024 connections that used to make everyone get 503
HEADER_TIMEOUT = 2.0


@pytest.fixture
def fd_budget() -> Iterator[int]:
    """File descriptors this process may open (client and server ends share it); raised if it can be."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * IDLE_SOCKETS + 512
    if soft < wanted and (hard == resource.RLIM_INFINITY or hard > soft):
        new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
    try:
        yield resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _address(server: CollectorServer) -> tuple[str, int]:
    parts = urlsplit(server.http_url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _open_idle(server: CollectorServer, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sockets.append(socket.create_connection(_address(server), timeout=10))
    return sockets


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _closed_by_server(sockets: list[socket.socket], timeout: float) -> int:
    """Wait up to ``timeout`` s for the server to close these sockets; return how many it closed."""
    selector = selectors.DefaultSelector()
    for sock in sockets:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    closed = 0
    deadline = time.monotonic() + timeout
    try:
        while closed < len(sockets) and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.5):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(1024)
                except ConnectionResetError:
                    data = b""
                if data == b"":
                    closed += 1
                    selector.unregister(sock)
    finally:
        selector.close()
    return closed


def _export(server: CollectorServer) -> httpx.Response:
    body = genai_trace_request(1).SerializeToString()
    return httpx.post(f"{server.http_url}/v1/traces", content=body, headers=PROTOBUF, timeout=10)


def test_idle_sockets_do_not_take_the_port_down(
    start_collector: Callable[..., CollectorServer], fd_budget: int
) -> None:
    # With the default cap of 1,024 connections when the fd limit allows; otherwise a cap this
    # process can exceed, so the test proves the same thing anywhere.
    max_connections = 1024 if fd_budget >= 2 * IDLE_SOCKETS + 512 else (fd_budget - 512) // 2 - 100
    idle_count = IDLE_SOCKETS if max_connections == 1024 else max_connections + 76
    server = start_collector(grpc_port=None, header_timeout=HEADER_TIMEOUT, max_connections=max_connections)
    sockets = _open_idle(server, idle_count)
    try:
        # The server has accepted them all (idle ones past the cap pushed older idle ones out).
        assert _wait_for(lambda: server.open_http_connections >= max_connections, 10)
        health = httpx.get(f"{server.http_url}/healthz", timeout=10)
        assert health.status_code == 200 and health.text == "ok"
        assert _export(server).status_code == 200
        # Every idle socket is closed by the server: evicted, or at the header deadline.
        assert _closed_by_server(sockets, HEADER_TIMEOUT + 20) == idle_count
        assert _wait_for(lambda: server.open_http_connections == 0, 10)
    finally:
        for sock in sockets:
            sock.close()
    assert server.store.connect().sql("select count(*) from spans").fetchall() == [(3,)]


def test_partial_headers_are_cut_off_at_the_deadline(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(grpc_port=None, header_timeout=HEADER_TIMEOUT)
    slow = socket.create_connection(_address(server), timeout=10)
    try:
        slow.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n")
        assert _closed_by_server([slow], HEADER_TIMEOUT + 20) == 1
    finally:
        slow.close()


def test_requests_in_progress_are_never_evicted(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(grpc_port=None, header_timeout=30.0, max_connections=8)
    body = genai_trace_request(1).SerializeToString()
    busy = socket.create_connection(_address(server), timeout=10)
    idle: list[socket.socket] = []
    try:
        # Headers complete, half the body sent: a request in progress.
        busy.sendall(
            b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[: len(body) // 2]
        )
        assert _wait_for(lambda: server.open_http_connections == 1, 10)
        idle = _open_idle(server, 20)
        # The 12 idle connections opened first were closed to make room; the busy one was not.
        assert _closed_by_server(idle[:12], 10) == 12
        assert server.open_http_connections == 8
        busy.sendall(body[len(body) // 2 :])
        answer = busy.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 ")
    finally:
        busy.close()
        for sock in idle:
            sock.close()


def test_keep_alive_connections_get_a_fresh_header_deadline_per_request(
    start_collector: Callable[..., CollectorServer],
) -> None:
    server = start_collector(grpc_port=None, header_timeout=HEADER_TIMEOUT)
    with httpx.Client(base_url=server.http_url, timeout=10) as client:
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
    assert _export(server).status_code == 200


def test_grpc_connections_without_a_handshake_are_dropped(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(header_timeout=HEADER_TIMEOUT)
    assert server.grpc_endpoint is not None
    host, _, port = server.grpc_endpoint.rpartition(":")
    silent = socket.create_connection((host, int(port)), timeout=10)
    try:
        assert _closed_by_server([silent], HEADER_TIMEOUT + 20) == 1
    finally:
        silent.close()


def test_serve_raises_the_open_file_limit_to_fit_the_connection_cap() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1024 + 256:
        pytest.fail(f"this test needs a hard open-file limit of at least 1280 (it is {hard})")
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))
        assert raise_fd_limit(1024) == 1024 + 256
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 1024 + 256
        assert raise_fd_limit(100) == 1024 + 256  # never lowered
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
