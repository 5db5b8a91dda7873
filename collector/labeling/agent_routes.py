"""The review app's agents over REST (JSON, the API's error shape, bearer token when configured)::

    GET    /api/v1/review-app                        the review app's URL and its agents
    POST   /api/v1/review-app/agents                 register {"agent_name", "model_serving_endpoint"[, "model"]}
    DELETE /api/v1/review-app/agents/{agent_name}    forget one

Registering checks the endpoint with one ``GET {base}/models`` (422 with the reason when it
fails) and takes the first model it lists unless ``model`` is given.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from otel_feedback_collector.api.encoding import JsonResponse
from otel_feedback_collector.api.errors import ApiError, api_endpoint
from otel_feedback_collector.api.json_body import check_fields, read_json_object
from otel_feedback_collector.catalog.agents import check_agent_name, list_agents, remove_agent, save_agent
from otel_feedback_collector.labeling.agent_endpoint import AgentUnavailable, check_endpoint, normalize_base_url
from otel_feedback_collector.labeling.context import LabelingContext
from otel_feedback_collector.labeling.summary import REVIEW_PATH

PREFIX = "/api/v1/review-app"


def agent_routes(labeling: LabelingContext) -> Sequence[BaseRoute]:
    """The routes above, bound to ``labeling``."""

    @api_endpoint
    async def review_app(request: Request) -> Response:
        agents = await run_in_threadpool(lambda: list_agents(labeling.catalog))
        url = str(request.base_url).rstrip("/") + REVIEW_PATH
        return JsonResponse({"url": url, "agents": [agent.to_json() for agent in agents]})

    @api_endpoint
    async def add_agent(request: Request) -> Response:
        body = await read_json_object(request)
        check_fields(body, ("agent_name", "model_serving_endpoint", "model"))
        model = body.get("model")
        try:
            name = check_agent_name(body.get("agent_name"))
            base_url = normalize_base_url(body.get("model_serving_endpoint"))
            if model is not None and (not isinstance(model, str) or not model.strip()):
                raise ValueError("model must be the model name to ask the agent for, or left out.")
        except ValueError as exc:
            raise ApiError(422, str(exc)) from None
        try:
            listed = await run_in_threadpool(lambda: check_endpoint(base_url))
        except AgentUnavailable as exc:
            raise ApiError(422, f"The agent {name!r} was not registered: {exc}") from None
        record = await run_in_threadpool(lambda: save_agent(labeling.catalog, name, base_url=base_url,
                                                            model=model or listed))
        return JsonResponse(record.to_json(), status_code=201)

    @api_endpoint
    async def delete_agent(request: Request) -> Response:
        name = request.path_params["agent_name"]
        if not await run_in_threadpool(lambda: remove_agent(labeling.catalog, name)):
            raise ApiError(404, f"There is no agent {name!r}; GET {PREFIX} lists them.")
        return JsonResponse({"deleted": name})

    return [
        Route(PREFIX, review_app, methods=["GET"]),
        Route(f"{PREFIX}/agents", add_agent, methods=["POST"]),
        Route(f"{PREFIX}/agents/{{agent_name}}", delete_agent, methods=["DELETE"]),
    ]
