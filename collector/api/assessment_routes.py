"""The assessment endpoints: list, create, override and delete the assessments of a trace.

::

    GET    /api/v1/traces/{trace_id}/assessments[?history=true]
    POST   /api/v1/traces/{trace_id}/assessments
    POST   /api/v1/traces/{trace_id}/assessments/{assessment_id}/override
    DELETE /api/v1/traces/{trace_id}/assessments/{assessment_id}

Writes are durable when they answer 201/200; nothing is updated in place (an override or a
delete is a new row in the log, and the old row stays in the history).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from otel_feedback_collector.api.assessment_input import deletion_of, new_assessment, override_of
from otel_feedback_collector.api.assessment_json import assessment_to_json, current_assessments
from otel_feedback_collector.api.encoding import JsonResponse
from otel_feedback_collector.api.errors import api_endpoint
from otel_feedback_collector.api.json_body import read_json_object
from otel_feedback_collector.api.request_params import assessment_id_param, bool_query, trace_id_param
from otel_feedback_collector.api.store_access import ApiStore

# A delete row without a body still costs memory in the read-your-writes overlay.
_MIN_ROW_BYTES = 512


def assessment_routes(api: ApiStore) -> Sequence[BaseRoute]:
    """The four assessment routes, bound to ``api``."""

    @api_endpoint
    async def list_assessments(request: Request) -> Response:
        trace_id = trace_id_param(request)
        history = bool_query(request, "history")

        def load() -> list[dict[str, object]]:
            api.require_trace(trace_id)
            log = api.trace_log(trace_id)
            rows = log if history else current_assessments(log)
            return [assessment_to_json(row) for row in rows]

        return JsonResponse({"assessments": await run_in_threadpool(load)})

    @api_endpoint
    async def create_assessment(request: Request) -> Response:
        trace_id = trace_id_param(request)
        body = await read_json_object(request)
        record = new_assessment(body, trace_id=trace_id)
        size = _row_bytes(request)
        stored, created = await run_in_threadpool(
            lambda: api.create(record, idempotent="assessment_id" in body, size_bytes=size)
        )
        return JsonResponse(assessment_to_json(stored), status_code=201 if created else 200)

    @api_endpoint
    async def override_assessment(request: Request) -> Response:
        trace_id = trace_id_param(request)
        assessment_id = assessment_id_param(request)
        body = await read_json_object(request)
        size = _row_bytes(request)
        row = await run_in_threadpool(
            lambda: api.replace(trace_id, assessment_id, lambda old: override_of(old, body), size_bytes=size)
        )
        return JsonResponse(assessment_to_json(row), status_code=201)

    @api_endpoint
    async def delete_assessment(request: Request) -> Response:
        trace_id = trace_id_param(request)
        assessment_id = assessment_id_param(request)
        body = await read_json_object(request, allow_empty=True)
        size = _row_bytes(request)
        row = await run_in_threadpool(
            lambda: api.replace(trace_id, assessment_id, lambda old: deletion_of(old, body), size_bytes=size)
        )
        return JsonResponse(assessment_to_json(row), status_code=200)

    base = "/traces/{trace_id}/assessments"
    return [
        Route(base, list_assessments, methods=["GET"], name="list_assessments"),
        Route(base, create_assessment, methods=["POST"], name="create_assessment"),
        Route(base + "/{assessment_id}/override", override_assessment, methods=["POST"], name="override_assessment"),
        Route(base + "/{assessment_id}", delete_assessment, methods=["DELETE"], name="delete_assessment"),
    ]


def _row_bytes(request: Request) -> int:
    """The approximate memory a written row holds: its request body's size, at least 512."""
    try:
        declared = int(request.headers.get("content-length", "0"))
    except ValueError:
        declared = 0
    return max(_MIN_ROW_BYTES, declared)
