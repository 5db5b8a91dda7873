"""``api_routes``: the REST API as one route provider for :mod:`otel_feedback_collector.app`.

``GET /api/openapi.json``, and the resources mounted at ``/api/v1`` (an app that answers its own
404/405 in the API's JSON error shape). Other ``/api/...`` paths stay free for other providers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from otel_feedback_collector.api.assessment_routes import assessment_routes
from otel_feedback_collector.api.encoding import JsonResponse
from otel_feedback_collector.api.errors import http_exception_handler
from otel_feedback_collector.api.experiment_routes import experiment_routes
from otel_feedback_collector.api.openapi import OPENAPI_DOCUMENT
from otel_feedback_collector.api.store_access import ApiStore
from otel_feedback_collector.api.trace_routes import trace_routes

if TYPE_CHECKING:
    from otel_feedback_collector.app_context import AppContext

API_V1_PATH = "/api/v1"


def api_routes(context: AppContext) -> Sequence[BaseRoute]:
    """The REST API over ``context.store``: the OpenAPI document and the ``/api/v1`` mount."""
    api = ApiStore(context.store)

    async def openapi(_request: Request) -> Response:
        return JsonResponse(OPENAPI_DOCUMENT)

    routes: list[BaseRoute] = [
        *experiment_routes(api),
        *trace_routes(api),
        *assessment_routes(api),
    ]
    api_app = Starlette(routes=routes, exception_handlers={HTTPException: http_exception_handler})
    api_app.state.context = context  # read by json_body (the body-read timeout)
    return [
        Route("/api/openapi.json", openapi, methods=["GET"], name="openapi"),
        Mount(API_V1_PATH, app=api_app, name="api_v1"),
    ]
