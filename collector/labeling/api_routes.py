"""The labeling REST endpoints (JSON, the API's error shape, bearer token when configured)::

    GET    /api/v1/label-schemas                          list (built-ins included)
    POST   /api/v1/label-schemas                          create (overwrite=true to replace)
    GET    /api/v1/label-schemas/{name}                   one
    DELETE /api/v1/label-schemas/{name}                   delete (refused while a session uses it)
    GET    /api/v1/labeling-sessions[?name=]              list
    POST   /api/v1/labeling-sessions                      create
    GET    /api/v1/labeling-sessions/{session_id}         one, with progress and agreement
    DELETE /api/v1/labeling-sessions/{session_id}         delete (the assessments stay)
    PUT    /api/v1/labeling-sessions/{session_id}/assigned-users
    GET    /api/v1/labeling-sessions/{session_id}/items   items with per-reviewer state
    POST   /api/v1/labeling-sessions/{session_id}/items   add traces ({"trace_ids": [...]})
    GET    /api/v1/labeling-sessions/{session_id}/traces  the traces with the session's labels
    GET    /api/v1/labeling/export                        the whole catalog as JSON
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from otel_feedback_collector.api.encoding import JsonResponse
from otel_feedback_collector.api.errors import ApiError, api_endpoint
from otel_feedback_collector.api.json_body import check_fields, read_json_object
from otel_feedback_collector.catalog import export_catalog
from otel_feedback_collector.catalog.schemas import SchemaExists, SchemaInUse, delete_schema, get_schema, get_schemas, save_schema
from otel_feedback_collector.catalog.sessions import (
    UnknownReference,
    add_items,
    create_session,
    current_labels,
    delete_session,
    list_items,
    list_sessions,
    set_assigned_users,
)
from otel_feedback_collector.labeling.context import LabelingContext
from otel_feedback_collector.labeling.summary import agreement, item_to_json, progress, session_to_json
from otel_feedback_collector.api.encoding import summary_to_json
from otel_feedback_collector.query import trace_rows
from otel_feedback_core.assessments import validate_trace_id
from otel_feedback.label_schemas import LabelSchema

_T = TypeVar("_T")
PREFIX = "/api/v1"
MAX_TRACES_PER_ADD = 10_000


def _unprocessable(action: Callable[[], _T]) -> _T:
    try:
        return action()
    except (SchemaExists, SchemaInUse, UnknownReference) as exc:
        raise ApiError(422, str(exc)) from None
    except ValueError as exc:
        message = str(exc)
        raise ApiError(422, message if message.endswith(".") else f"{message}.") from None


def _string_list(body: dict[str, Any], key: str, *, required: bool = False) -> list[str]:
    value = body.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(422, f"{key} must be a list of strings.")
    return value


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def labeling_api_routes(labeling: LabelingContext) -> Sequence[BaseRoute]:
    """The routes above, bound to ``labeling``."""

    def catalog() -> Any:
        return labeling.catalog

    @api_endpoint
    async def list_schemas(_request: Request) -> Response:
        schemas = await run_in_threadpool(lambda: get_schemas(catalog()))
        return JsonResponse({"label_schemas": [schema.to_dict() for schema in schemas.values()]})

    @api_endpoint
    async def create_schema(request: Request) -> Response:
        body = await read_json_object(request)
        overwrite = body.pop("overwrite", False)
        if not isinstance(overwrite, bool):
            raise ApiError(422, "overwrite must be true or false.")
        schema = _unprocessable(lambda: LabelSchema.from_dict(body))
        await run_in_threadpool(lambda: _unprocessable(lambda: save_schema(catalog(), schema, overwrite=overwrite)))
        return JsonResponse(schema.to_dict(), status_code=201)

    @api_endpoint
    async def get_one_schema(request: Request) -> Response:
        name = request.path_params["name"]
        schema = await run_in_threadpool(lambda: get_schema(catalog(), name))
        if schema is None:
            raise ApiError(404, f"There is no label schema {name!r}; GET /api/v1/label-schemas lists them.")
        return JsonResponse(schema.to_dict())

    @api_endpoint
    async def delete_one_schema(request: Request) -> Response:
        name = request.path_params["name"]
        deleted = await run_in_threadpool(lambda: _unprocessable(lambda: delete_schema(catalog(), name)))
        if not deleted:
            raise ApiError(404, f"There is no label schema {name!r}.")
        return JsonResponse({"deleted": name})

    @api_endpoint
    async def list_all_sessions(request: Request) -> Response:
        name = request.query_params.get("name")
        sessions = await run_in_threadpool(lambda: list_sessions(catalog(), name=name))
        base = _base_url(request)
        return JsonResponse({"labeling_sessions": [session_to_json(s, base_url=base) for s in sessions]})

    @api_endpoint
    async def create_one_session(request: Request) -> Response:
        body = await read_json_object(request)
        check_fields(body, ("name", "label_schemas", "assigned_users"))
        schemas = _string_list(body, "label_schemas", required=True)
        users = _string_list(body, "assigned_users")
        session = await run_in_threadpool(
            lambda: _unprocessable(
                lambda: create_session(catalog(), body.get("name"), label_schemas=schemas, assigned_users=users)  # type: ignore[arg-type]
            )
        )
        return JsonResponse(session_to_json(session, base_url=_base_url(request)), status_code=201)

    @api_endpoint
    async def get_one_session(request: Request) -> Response:
        def load() -> dict[str, Any]:
            session = labeling.session(request.path_params["session_id"])
            items = list_items(catalog(), session.session_id)
            return {
                **session_to_json(session, base_url=_base_url(request)),
                "item_count": len(items),
                "progress": [entry.to_dict() for entry in progress(session, items)],
                "agreement": [entry.to_dict() for entry in agreement(catalog(), session, labeling.schemas_of(session), items)],
            }

        return JsonResponse(await run_in_threadpool(load))

    @api_endpoint
    async def delete_one_session(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        session = await run_in_threadpool(lambda: labeling.session(session_id))
        await run_in_threadpool(lambda: delete_session(catalog(), session.session_id))
        return JsonResponse({"deleted": session.session_id})

    @api_endpoint
    async def put_assigned_users(request: Request) -> Response:
        body = await read_json_object(request)
        users = _string_list(body, "assigned_users", required=True)

        def change() -> Any:
            session = labeling.session(request.path_params["session_id"])
            return _unprocessable(lambda: set_assigned_users(catalog(), session.session_id, users))

        session = await run_in_threadpool(change)
        return JsonResponse(session_to_json(session, base_url=_base_url(request)))

    @api_endpoint
    async def get_items(request: Request) -> Response:
        def load() -> list[dict[str, Any]]:
            session = labeling.session(request.path_params["session_id"])
            return [item_to_json(item) for item in list_items(catalog(), session.session_id)]

        return JsonResponse({"items": await run_in_threadpool(load)})

    @api_endpoint
    async def post_items(request: Request) -> Response:
        body = await read_json_object(request)
        raw_ids = _string_list(body, "trace_ids", required=True)
        if len(raw_ids) > MAX_TRACES_PER_ADD:
            raise ApiError(422, f"Add at most {MAX_TRACES_PER_ADD} traces per request; send the rest in another.")
        trace_ids = _unprocessable(lambda: [validate_trace_id(raw) for raw in raw_ids])

        def add() -> dict[str, Any]:
            session = labeling.session(request.path_params["session_id"])
            for trace_id in trace_ids:
                labeling.api.require_trace(trace_id)
            added = add_items(catalog(), session.session_id, trace_ids)
            return {"added": added, "items": [item_to_json(item) for item in list_items(catalog(), session.session_id)]}

        return JsonResponse(await run_in_threadpool(add))

    @api_endpoint
    async def get_traces(request: Request) -> Response:
        def load() -> dict[str, Any]:
            session = labeling.session(request.path_params["session_id"])
            ids = [item.trace_id for item in list_items(catalog(), session.session_id)]
            rows = labeling.api.read(lambda connection: trace_rows(connection, ids))
            labels = current_labels(catalog(), session.session_id)
            return {
                "traces": [summary_to_json(row) for row in rows],
                "labels": [
                    {"trace_id": label.trace_id, "name": label.schema_name, "value": label.value,
                     "source_id": label.reviewer, "comment": label.comment, "assessment_id": label.assessment_id}
                    for label in labels
                ],
            }

        return JsonResponse(await run_in_threadpool(load))

    @api_endpoint
    async def export(_request: Request) -> Response:
        return JsonResponse(await run_in_threadpool(lambda: export_catalog(catalog())))

    sessions = f"{PREFIX}/labeling-sessions"
    return [
        Route(f"{PREFIX}/label-schemas", list_schemas, methods=["GET"]),
        Route(f"{PREFIX}/label-schemas", create_schema, methods=["POST"]),
        Route(f"{PREFIX}/label-schemas/{{name}}", get_one_schema, methods=["GET"]),
        Route(f"{PREFIX}/label-schemas/{{name}}", delete_one_schema, methods=["DELETE"]),
        Route(sessions, list_all_sessions, methods=["GET"]),
        Route(sessions, create_one_session, methods=["POST"]),
        Route(f"{sessions}/{{session_id}}", get_one_session, methods=["GET"]),
        Route(f"{sessions}/{{session_id}}", delete_one_session, methods=["DELETE"]),
        Route(f"{sessions}/{{session_id}}/assigned-users", put_assigned_users, methods=["PUT"]),
        Route(f"{sessions}/{{session_id}}/items", get_items, methods=["GET"]),
        Route(f"{sessions}/{{session_id}}/items", post_items, methods=["POST"]),
        Route(f"{sessions}/{{session_id}}/traces", get_traces, methods=["GET"]),
        Route(f"{PREFIX}/labeling/export", export, methods=["GET"]),
    ]
