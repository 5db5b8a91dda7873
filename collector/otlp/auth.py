"""Bearer-token authentication for every HTTP route and every gRPC method.

The rule: when a token is configured, a request must carry ``Authorization: Bearer <token>``
(gRPC: the ``authorization`` metadata key) with exactly that token, compared in constant time.
Anything else gets HTTP 401 with ``WWW-Authenticate: Bearer`` or gRPC UNAUTHENTICATED. Only the
paths in ``public_paths`` (by default the health check) are reachable without it. The middleware
wraps the whole Starlette app, so routes added later inherit the rule without doing anything.

Read-only access (for people who may look but not change anything), on top of the token:

* ``read_token``: a second token that passes *reads* only — GET and HEAD on any route (UI pages,
  REST reads) and the read-only ``POST /api/v1/traces/search``. A write presented with it gets
  403 (it is a valid token, just not one that may write). gRPC carries exports only, so there it
  is refused like any wrong token.
* ``public_read``: reads need no token at all (the UI is viewable in a browser, which cannot send
  a bearer token), while every write — OTLP exports, REST writes, the UI's edit buttons — still
  needs the token.

The write token passes everything. A route that changes data must therefore never answer GET.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Collection
from typing import Any

import grpc
from starlette.types import ASGIApp, Receive, Scope, Send

from otel_feedback_collector.asgi_responses import send_response

DEFAULT_PUBLIC_PATHS: frozenset[str] = frozenset({"/healthz"})
READ_METHODS: frozenset[str] = frozenset({"GET", "HEAD"})
# POST routes that only read (a search takes its filter in a JSON body).
READ_ONLY_POST_PATHS: frozenset[str] = frozenset({"/api/v1/traces/search"})
# The review app (collector/labeling) signs reviewers in with their own name and password and a
# signed cookie; a browser cannot send the bearer token, so its pages are exempt from it.
PUBLIC_PATH_PREFIXES: tuple[str, ...] = ("/review/",)
_REALM = 'Bearer realm="otel-feedback"'


def token_matches(authorization: str | None, token: str) -> bool:
    """True when an Authorization header value is ``Bearer <token>``; constant-time compare."""
    if not authorization:
        return False
    scheme, _, presented = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())


def check_token_settings(token: str | None, read_token: str | None, public_read: bool) -> None:
    """Raise ValueError (what to change) when the read-access settings make no sense together."""
    if (read_token or public_read) and not token:
        raise ValueError(
            "--read-token and --public-read limit who may write, so they need --token (the write token); "
            "without a token everyone may already read and write."
        )
    if read_token and public_read:
        raise ValueError("--public-read lets anyone read, so a --read-token would do nothing; give only one of them.")
    if read_token and token and hmac.compare_digest(read_token.encode(), token.encode()):
        raise ValueError("The read token must differ from the write token (--token).")


def is_read_request(scope: Scope) -> bool:
    """True for requests that cannot change data: GET, HEAD and the read-only POST routes."""
    method = scope.get("method", "")
    return method in READ_METHODS or (method == "POST" and scope.get("path", "") in READ_ONLY_POST_PATHS)


class BearerTokenMiddleware:
    """ASGI middleware answering 401 to HTTP requests without the configured bearer token (and 403
    to writes presented with the read token)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str,
        public_paths: Collection[str] = DEFAULT_PUBLIC_PATHS,
        read_token: str | None = None,
        public_read: bool = False,
    ) -> None:
        if not token:
            raise ValueError("The bearer token must not be empty; leave auth off by passing no token.")
        check_token_settings(token, read_token, public_read)
        self._app = app
        self._token = token
        self._read_token = read_token or None
        self._public_read = public_read
        self._public_paths = frozenset(public_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if scope["type"] != "http" or path in self._public_paths or path.startswith(PUBLIC_PATH_PREFIXES):
            await self._app(scope, receive, send)
            return
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        if token_matches(authorization, self._token):
            await self._app(scope, receive, send)
            return
        read = is_read_request(scope)
        presents_read_token = self._read_token is not None and token_matches(authorization, self._read_token)
        if read and (self._public_read or presents_read_token):
            await self._app(scope, receive, send)
            return
        if presents_read_token:
            await _send_json(send, 403, {"code": 7, "message": "This is the read-only token; it may not change data. "
                                         "Writes need the write token (the collector's --token)."})
            return
        reason = "missing" if authorization is None else "wrong"
        hint = ""
        if self._public_read:
            hint = " (reads need no token here; writes need the write token)"
        elif self._read_token:
            hint = " (the read token is enough for reads; writes need the write token)"
        await _send_json(
            send, 401, {"code": 16, "message": f"The bearer token is {reason}; send 'Authorization: Bearer <token>'{hint}."},
            extra_headers=[(b"www-authenticate", _REALM.encode())],
        )


async def _send_json(send: Send, status: int, payload: dict[str, Any],
                     extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send_response(
        send, status, json.dumps(payload).encode(), content_type=b"application/json",
        extra_headers=extra_headers or (),
    )


class BearerTokenInterceptor(grpc.ServerInterceptor):
    """gRPC server interceptor that aborts calls without the bearer token with UNAUTHENTICATED."""

    def __init__(self, *, token: str) -> None:
        if not token:
            raise ValueError("The bearer token must not be empty; leave auth off by passing no token.")
        self._token = token

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        """Pass authorised calls on; answer the rest with UNAUTHENTICATED."""
        metadata = dict(handler_call_details.invocation_metadata or ())
        authorization = metadata.get("authorization")
        if isinstance(authorization, bytes):
            authorization = authorization.decode("latin-1")
        if token_matches(authorization, self._token):
            return continuation(handler_call_details)
        reason = "missing" if authorization is None else "wrong"

        def deny(_request: Any, context: grpc.ServicerContext) -> Any:
            context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                f"The bearer token is {reason}; send the metadata 'authorization: Bearer <token>'.",
            )

        return grpc.unary_unary_rpc_method_handler(deny)
