"""Reading a JSON request body: capped in size, must be a JSON object.

The rule: a body over :data:`MAX_API_BODY_BYTES` is refused with 413 before it is all read; a
body that is not JSON is 400; valid JSON that is not an object is 422; a body that does not
arrive within the collector's body-read timeout (``body_read_timeout``, the one the OTLP routes
use; 60 s by default) is 408, so a stalled client cannot hold a connection and its memory. An
empty body counts as ``{}`` only where the caller allows it (DELETE's body is optional).

A body must be sent as ``Content-Type: application/json`` (else 415). This is a security rule,
not pedantry: a browser sends ``text/plain`` POSTs cross-origin without asking first, while a JSON
POST needs a CORS preflight — which a page from a disallowed origin fails. So a foreign page
cannot write feedback through a visitor's browser.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import anyio
from starlette.requests import Request

from otel_feedback_collector.api.errors import ApiError
from otel_feedback_collector.otlp.body import check_content_length, read_bounded
from otel_feedback_collector.otlp.errors import PayloadTooLarge
from otel_feedback_core.json_text import parse_json_text

MAX_API_BODY_BYTES = 1024 * 1024
# Used when the app carries no AppContext (an app built without one, as some tests do).
DEFAULT_BODY_READ_TIMEOUT = 60.0


async def read_json_object(
    request: Request, *, allow_empty: bool = False, limit: int = MAX_API_BODY_BYTES
) -> dict[str, Any]:
    """Return the request body as a dict, or raise :class:`ApiError` (400, 408, 413, 415 or 422)."""
    try:
        raw = await read_body(request, limit=limit)
    except PayloadTooLarge:
        raise ApiError(
            413,
            f"The request body is larger than {limit} bytes; send a smaller value, rationale "
            "or metadata.",
        ) from None
    if not raw.strip():
        if allow_empty:
            return {}
        raise ApiError(400, "The request body is empty; send a JSON object.")
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(
            415,
            f"The request body must be sent with 'Content-Type: application/json' (got "
            f"{media_type or 'none'!r}).",
        )
    try:
        # parse_float=float: a number beyond a double reaches the validators, which answer 422.
        body = parse_json_text(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=float)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, f"The request body is not valid UTF-8 JSON ({exc}); send a JSON object.") from None
    if not isinstance(body, dict):
        raise ApiError(422, f"The request body must be a JSON object, not a JSON {type(body).__name__}.")
    return body


def check_fields(body: dict[str, Any], allowed: Collection[str], *, status: int = 422) -> None:
    """Refuse a body with fields outside ``allowed`` (a typo must not silently drop data)."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ApiError(status, f"Unknown field(s) {unknown}; this endpoint takes {', '.join(allowed)}.")


async def read_body(request: Request, *, limit: int) -> bytes:
    """The whole body, at most ``limit`` bytes (:class:`PayloadTooLarge` past it, before it is all
    read); :class:`ApiError` 408 when it does not arrive within the body-read timeout."""
    check_content_length(request.headers.get("content-length"), limit=limit)
    timeout = _body_read_timeout(request)
    with anyio.move_on_after(timeout) as timer:
        raw = await read_bounded(request.stream(), limit=limit)
    if timer.cancelled_caught:
        raise ApiError(
            408, f"The request body did not arrive within {timeout:g} s; the connection is too slow or "
            "the client stalled. Send the whole body at once."
        )
    return raw


def _body_read_timeout(request: Request) -> float:
    # The API is a mounted app: its request.app is the mount, which carries the context too.
    context = getattr(request.app.state, "context", None)
    return float(getattr(context, "body_read_timeout", DEFAULT_BODY_READ_TIMEOUT))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
