"""The trace endpoints: one trace with its spans and assessments, and trace search with paging.

::

    GET  /api/v1/traces?experiment=&filter=&order_by=&max_results=&page_token=
    POST /api/v1/traces/search          (the same fields as a JSON body, for long filters)
    GET  /api/v1/traces/{trace_id}

Search is :func:`otel_feedback_collector.query.find_traces` (the filter language is in docs/search.md); its
``FilterError`` for a bad filter, ordering, page token or max_results is a 400.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from otel_feedback_collector.api.assessment_json import assessment_to_json, current_assessments, latest_values
from otel_feedback_collector.api.encoding import JsonResponse
from otel_feedback_collector.api.errors import ApiError, api_endpoint
from otel_feedback_collector.api.json_body import read_json_object
from otel_feedback_collector.api.request_params import trace_id_param
from otel_feedback_collector.api.store_access import ApiStore
from otel_feedback_collector.api.trace_json import span_to_json, trace_summary_to_json
from otel_feedback_collector.query import FilterError, find_traces

SEARCH_FIELDS = ("experiment", "filter", "order_by", "max_results", "page_token")


def trace_routes(api: ApiStore) -> Sequence[BaseRoute]:
    """The trace routes, bound to ``api``."""

    @api_endpoint
    async def list_traces(request: Request) -> Response:
        query = request.query_params
        unknown = sorted(set(query) - set(SEARCH_FIELDS))
        if unknown:
            raise ApiError(400, f"Unknown query parameter(s) {unknown}; use {', '.join(SEARCH_FIELDS)}.")
        options: dict[str, Any] = {name: query[name] for name in SEARCH_FIELDS if name in query}
        if "max_results" in options:
            options["max_results"] = _int_param("max_results", options["max_results"])
        return JsonResponse(await run_in_threadpool(lambda: _search(api, options)))

    @api_endpoint
    async def search_traces(request: Request) -> Response:
        body = await read_json_object(request, allow_empty=True)
        unknown = sorted(set(body) - set(SEARCH_FIELDS))
        if unknown:
            raise ApiError(400, f"Unknown field(s) {unknown}; a search takes {', '.join(SEARCH_FIELDS)}.")
        options = {name: value for name, value in body.items() if value is not None}
        return JsonResponse(await run_in_threadpool(lambda: _search(api, options)))

    @api_endpoint
    async def get_trace(request: Request) -> Response:
        trace_id = trace_id_param(request)
        summary, spans, log = await run_in_threadpool(lambda: api.trace_detail(trace_id))
        current = current_assessments(log)
        return JsonResponse(
            {
                "trace": trace_summary_to_json(summary, latest_values(current)),
                "spans": [span_to_json(span) for span in spans],
                "assessments": [assessment_to_json(row) for row in current],
            }
        )

    return [
        Route("/traces", list_traces, methods=["GET"], name="list_traces"),
        Route("/traces/search", search_traces, methods=["POST"], name="search_traces"),
        Route("/traces/{trace_id}", get_trace, methods=["GET"], name="get_trace"),
    ]


def _search(api: ApiStore, options: Mapping[str, Any]) -> dict[str, Any]:
    try:
        page = api.read(lambda connection: find_traces(connection, **options))
    except FilterError as exc:
        raise ApiError(400, str(exc)) from None
    return {
        "traces": [trace_summary_to_json(row, row.get("assessments") or {}) for row in page.rows],
        "next_page_token": page.next_page_token,
    }


def _int_param(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"The query parameter {name} must be an integer; got {raw!r}.") from None
