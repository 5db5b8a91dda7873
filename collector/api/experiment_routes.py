"""``GET /api/v1/experiments``: the experiments that have traces, newest activity first."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from otel_feedback_collector.api.encoding import JsonResponse
from otel_feedback_collector.api.errors import api_endpoint
from otel_feedback_collector.api.queries import experiment_list
from otel_feedback_collector.api.store_access import ApiStore


def experiment_routes(api: ApiStore) -> Sequence[BaseRoute]:
    """The experiments route, bound to ``api``."""

    @api_endpoint
    async def list_experiments(_request: Request) -> Response:
        rows = await run_in_threadpool(lambda: api.read(experiment_list))
        return JsonResponse({"experiments": rows})

    return [Route("/experiments", list_experiments, methods=["GET"], name="list_experiments")]
