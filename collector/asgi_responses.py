"""Answering from an ASGI middleware, before any route runs (refusals by the guards)."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import Send


async def send_response(
    send: Send,
    status: int,
    body: bytes,
    *,
    content_type: bytes,
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Send a whole response: ``nosniff`` always, so a browser never reads a refusal as markup."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
                *extra_headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
