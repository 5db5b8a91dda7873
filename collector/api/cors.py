"""CORS for the REST API: which browser pages on other origins may call ``/api/``.

The rules:

* No origins configured (the default): no CORS headers at all, so only pages served by the
  collector itself (same origin) can read answers, and a cross-origin JSON POST never gets past
  the browser's preflight.
* Configured origins (``--cors-origin`` / ``OTEL_FEEDBACK_CORS_ORIGINS``) get
  ``Access-Control-Allow-Origin`` for ``/api/`` paths only, with ``GET``, ``POST`` and
  ``DELETE`` and the ``Content-Type`` and ``Authorization`` headers; any other origin gets no
  CORS header (its preflight is refused).
* This middleware sits *outside* the bearer-token check: a preflight carries no credentials by
  the Fetch standard, so it is answered here, and the 401 of a request without the token still
  carries CORS headers so the page can read why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

API_PATH_PREFIX = "/api/"
CORS_ORIGINS_ENV = "OTEL_FEEDBACK_CORS_ORIGINS"
ALLOWED_METHODS = ("GET", "POST", "DELETE")
ALLOWED_HEADERS = ("Content-Type", "Authorization")
PREFLIGHT_MAX_AGE_SECONDS = 600


class ApiCorsMiddleware:
    """Starlette's ``CORSMiddleware`` applied to ``/api/`` paths; other paths pass untouched."""

    def __init__(self, app: ASGIApp, *, allowed_origins: Sequence[str]) -> None:
        origins = [validate_origin(origin) for origin in allowed_origins]
        if not origins:
            raise ValueError("Give at least one allowed origin, or leave CORS off.")
        self._app = app
        self._cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            max_age=PREFLIGHT_MAX_AGE_SECONDS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API_PATH_PREFIX):
            await self._cors(scope, receive, send)
        else:
            await self._app(scope, receive, send)


def cors_middleware(allowed_origins: Sequence[str]) -> list[Middleware]:
    """The middleware list to put first in the app: empty when no origin is allowed."""
    if not allowed_origins:
        return []
    return [Middleware(ApiCorsMiddleware, allowed_origins=tuple(allowed_origins))]


def validate_origin(origin: str) -> str:
    """An origin as browsers send it (``https://app.example.com[:port]``) or ``*``; else ValueError."""
    text = origin.strip().rstrip("/")
    if text == "*":
        return text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query or parts.fragment:
        raise ValueError(
            f"CORS origin {origin!r} is not an origin; write it as scheme://host[:port], e.g. "
            "https://app.example.com or http://localhost:3000 (no path), or * for any origin."
        )
    return text.lower()


def parse_origins(values: Iterable[str]) -> tuple[str, ...]:
    """Origins from repeated options and comma-separated lists, validated, duplicates dropped."""
    origins: list[str] = []
    for value in values:
        for item in value.split(","):
            if item.strip():
                origin = validate_origin(item)
                if origin not in origins:
                    origins.append(origin)
    return tuple(origins)
