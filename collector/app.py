"""The collector's Starlette application: OTLP/HTTP now, the REST API and UI as they arrive.

To add routes, write a function ``my_routes(context: AppContext) -> Sequence[BaseRoute]`` in
your own module and add it to :data:`ROUTE_PROVIDERS` (or pass ``extra_routes`` to
:func:`build_app`). Every route is behind the bearer-token middleware when a token is set, so new
routes are protected without doing anything; list a path in ``public_paths`` only if it must be
reachable without the token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from otel_feedback_collector.access import AllowedHostsMiddleware
from otel_feedback_collector.api import api_routes, cors_middleware
from otel_feedback_collector.app_context import AppContext, RouteProvider
from otel_feedback_collector.labeling import labeling_routes
from otel_feedback_collector.otlp.auth import DEFAULT_PUBLIC_PATHS, BearerTokenMiddleware, check_token_settings
from otel_feedback_collector.otlp.http_routes import OtlpHttpReceiver
from otel_feedback_collector.read_only import ReadOnlyMiddleware
from otel_feedback_collector.storage.errors import IndexRebuilding
from otel_feedback_collector.storage.readable_files import health_warnings
from otel_feedback_collector.ui import cross_site_middleware, ui_routes
from otel_feedback_collector.ui.evaluation_pages import evaluation_routes
from otel_feedback_collector.ui.labeling_pages import labeling_page_routes
from otel_feedback_collector.ui.rendering import render_page




def otlp_routes(context: AppContext) -> Sequence[BaseRoute]:
    """``POST /v1/traces``, ``/v1/logs``, ``/v1/metrics``."""
    receiver = OtlpHttpReceiver(
        context.pipeline,
        max_body_bytes=context.max_body_bytes,
        max_pending_requests=context.max_pending_requests,
        body_read_timeout=context.body_read_timeout,
        inflight=context.inflight,
    )
    return receiver.routes()


def health_routes(context: AppContext) -> Sequence[BaseRoute]:
    """``GET /healthz``: answers ``ok`` while the server runs (no token needed). The
    ``X-Quarantined-Records`` header counts WAL records set aside as unstorable; when there
    are any, the first line says so too, followed by one ``warning:`` line per data file the
    queries leave out because it cannot be read (the status stays 200: the collector still
    works)."""

    async def healthz(_request: Request) -> Response:
        quarantined = int(getattr(context.store, "quarantined_records", 0) or 0)
        first = "ok"
        if quarantined:
            first = (
                f"ok ({quarantined} write-ahead log record(s) could not be stored and are "
                "kept in wal/quarantine/; see the collector log)"
            )
        warnings: list[str] = []
        if context.data_dir is not None:
            warnings = await asyncio.to_thread(health_warnings, context.data_dir)
        return PlainTextResponse(
            "\n".join([first, *warnings]), headers={"X-Quarantined-Records": str(quarantined)}
        )

    return [Route("/healthz", healthz, methods=["GET"], name="healthz")]


# Later issues append their providers here (REST API, UI, review app). labeling_routes adds
# /api/v1 paths, so it comes before api_routes, whose /api/v1 mount answers every other path.
# Order matters: the /api/v1 mount answers every path under it, so more specific /api/v1
# routes (labeling) come before it.
ROUTE_PROVIDERS: list[RouteProvider] = [
    health_routes,
    otlp_routes,
    labeling_routes,
    api_routes,
    ui_routes,
    evaluation_routes,
    labeling_page_routes,
]
# ``serve --read-only``: reads only. No receivers; no labeling (its sessions live in one
# collector's catalog, which a reader of several directories must not open).
READ_ONLY_PROVIDERS: list[RouteProvider] = [health_routes, api_routes, ui_routes, evaluation_routes]


def build_app(
    context: AppContext,
    *,
    token: str | None = None,
    public_paths: Collection[str] = DEFAULT_PUBLIC_PATHS,
    extra_routes: Sequence[BaseRoute] = (),
    read_token: str | None = None,
    public_read: bool = False,
    read_only: bool = False,
) -> Starlette:
    """Return the collector's ASGI app with every provider's routes and ``extra_routes``.

    ``read_token`` / ``public_read`` (need ``token``) open reads to a second token or to everyone
    while writes still need ``token`` (see :mod:`otel_feedback_collector.otlp.auth`).
    ``read_only``: the read routes only, and every write answered 403 (otel_feedback_collector.read_only)."""
    routes: list[BaseRoute] = []
    for provider in READ_ONLY_PROVIDERS if read_only else ROUTE_PROVIDERS:
        routes.extend(provider(context))
    routes.extend(extra_routes)
    check_token_settings(token, read_token, public_read)
    auth = [Middleware(BearerTokenMiddleware, token=token, public_paths=public_paths, read_token=read_token,
                       public_read=public_read)] if token else []
    # The Host check is outermost: a DNS-rebinding page gets nothing, not even a CORS preflight.
    # Then CORS: preflights carry no token, and a 401 must still carry CORS headers.
    # Then the cross-site check: a write from another site's page is refused before anything runs.
    middleware = [Middleware(AllowedHostsMiddleware, allowed_hosts=context.allowed_hosts),
                  *cors_middleware(context.cors_origins), *cross_site_middleware(context.cors_origins), *auth]
    if read_only:  # innermost: a request is refused only once it would otherwise be served
        middleware.append(Middleware(ReadOnlyMiddleware))
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={IndexRebuilding: _index_rebuilding_page})
    app.state.context = context
    return app


async def _index_rebuilding_page(_request: Request, exc: Exception) -> Response:
    """A page read while the trace index is rebuilt that needs it (the API answers its own)."""
    assert isinstance(exc, IndexRebuilding)
    page = render_page("unavailable.html", status_code=503, message=str(exc))
    page.headers["Retry-After"] = str(int(exc.retry_after))
    return page
