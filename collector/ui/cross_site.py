"""Cross-site request protection: a page on another site must not change data here.

The rule, for state-changing methods (POST, PUT, PATCH, DELETE) on ``/api/`` and ``/ui/``:

* an ``Origin`` header must be the collector's own origin (the scheme and ``Host`` of the
  request) or one of the configured CORS origins (``--cors-origin``; ``*`` allows any);
  any other origin, including the opaque ``null``, is refused with 403;
* without ``Origin``, ``Sec-Fetch-Site: cross-site`` is refused too (a browser that sends
  fetch metadata but no origin);
* a request with neither header (an SDK, curl, a backend) passes: it is not a browser acting
  for a visitor of another site, and the bearer token, when set, still applies to it.

Browsers always send ``Origin`` on cross-origin POST/PUT/PATCH/DELETE (and on same-origin ones
except form-free navigations), so a form or ``fetch`` on another site cannot pass. Safe methods
(GET, HEAD, OPTIONS) never change anything and are not checked. OTLP paths (``/v1/...``) are
not checked: exporters are not browsers acting on a person's behalf.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from otel_feedback_collector.asgi_responses import send_response

PROTECTED_PATH_PREFIXES = ("/api/", "/ui/")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CrossSiteRequestMiddleware:
    """Answers 403 (the API's JSON error shape) to state-changing requests from other sites."""

    def __init__(self, app: ASGIApp, *, allowed_origins: Sequence[str] = ()) -> None:
        self._app = app
        self._allowed = frozenset(origin.lower().rstrip("/") for origin in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_protected(scope) and not self._allows(scope):
            await _send_forbidden(send)
            return
        await self._app(scope, receive, send)

    def _allows(self, scope: Scope) -> bool:
        return from_allowed_site(scope, _headers(scope), self._allowed)


def cross_site_middleware(allowed_origins: Sequence[str]) -> list[Middleware]:
    """The middleware list for :func:`otel_feedback_collector.app.build_app` (always one entry)."""
    return [Middleware(CrossSiteRequestMiddleware, allowed_origins=tuple(allowed_origins))]


def from_allowed_site(scope: Scope, headers: dict[str, str], allowed_origins: frozenset[str] = frozenset()) -> bool:
    """The rule above for one request (``headers`` with lowercase names): its ``Origin`` is ours
    or an allowed one, or, without ``Origin``, its ``Sec-Fetch-Site`` is not ``cross-site``.
    The review app's forms use it with no allowed origins (same origin only)."""
    origin = headers.get("origin")
    if origin is not None:
        origin = origin.strip().lower().rstrip("/")
        return origin != "null" and (
            origin == own_origin(scope, headers) or origin in allowed_origins or "*" in allowed_origins
        )
    return headers.get("sec-fetch-site", "").strip().lower() != "cross-site"


def own_origin(scope: Scope, headers: dict[str, str]) -> str:
    """``scheme://host[:port]`` of this request as the browser addressed it (its ``Host``)."""
    scheme = scope.get("scheme", "http")
    host = headers.get("host")
    if host is None:
        server = scope.get("server") or ("", None)
        host = f"{server[0]}:{server[1]}" if server[1] is not None else str(server[0])
    host = host.strip().lower()
    default_port = {"http": ":80", "https": ":443"}.get(scheme)
    if default_port and host.endswith(default_port):
        host = host[: -len(default_port)]
    return f"{scheme}://{host}"


def _is_protected(scope: Scope) -> bool:
    return scope["method"] in UNSAFE_METHODS and scope["path"].startswith(PROTECTED_PATH_PREFIXES)


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}


async def _send_forbidden(send: Send) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "FORBIDDEN",
                "message": "Cross-site request refused: this page's origin may not change data on "
                "this collector. Use the collector's own UI, or start the collector with "
                "--cors-origin ORIGIN to allow your app's origin.",
            }
        }
    ).encode()
    await send_response(send, 403, body, content_type=b"application/json; charset=utf-8")
