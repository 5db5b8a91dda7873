"""The HTTP listening socket: its accepted connections must get TCP_NODELAY from asyncio."""

from __future__ import annotations

import socket

from otel_feedback_collector.server import _bind_tcp


def test_listening_socket_declares_tcp_so_asyncio_disables_nagle():
    # asyncio sets TCP_NODELAY on accepted sockets only when proto is IPPROTO_TCP; without it,
    # every answer on a kept-alive connection waited ~40 ms for the peer's delayed ACK.
    sock = _bind_tcp("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        client = socket.create_connection(sock.getsockname(), timeout=5)
        sock.setblocking(True)
        accepted, _ = sock.accept()
        try:
            assert accepted.proto == socket.IPPROTO_TCP
        finally:
            accepted.close()
            client.close()
    finally:
        sock.close()
