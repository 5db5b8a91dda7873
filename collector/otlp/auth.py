"""Bearer-token authentication for every HTTP route and every gRPC method.

The rule: when a token is configured, a request must carry ``Authorization: Bearer <token>``
(gRPC: the ``authorization`` metadata key) with exactly that token, compared in constant time.
Anything else gets HTTP 401 with ``WWW-Authenticate: Bearer`` or gRPC UNAUTHENTICATED. Only the
paths in ``public_paths`` (by default the health check) are reachable without it. The middleware
wraps the whole Starlette app, so routes added later inherit the rule without doing anything.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Collection
from typing import Any

import grpc
from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULT_PUBLIC_PATHS: frozenset[str] = frozenset({"/healthz"})
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


class BearerTokenMiddleware:
    """ASGI middleware answering 401 to HTTP requests without the configured bearer token."""

    def __init__(self, app: ASGIApp, *, token: str, public_paths: Collection[str] = DEFAULT_PUBLIC_PATHS) -> None:
        if not token:
            raise ValueError("The bearer token must not be empty; leave auth off by passing no token.")
        self._app = app
        self._token = token
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
        reason = "missing" if authorization is None else "wrong"
        body = json.dumps(
            {"code": 16, "message": f"The bearer token is {reason}; send 'Authorization: Bearer <token>'."}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", _REALM.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


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
