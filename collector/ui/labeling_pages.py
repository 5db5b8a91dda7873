"""``labeling_page_routes``: the web UI's Labeling section.

::

    GET /labeling                        label schemas (create / edit form), sessions with
                                         progress, the create-session form
    GET /labeling/sessions/{session_id}  one session: items with each reviewer's state,
                                         progress, agreement, links to the review app and export

The pages only read (the catalog, through the same functions the REST API uses). Every write —
a schema, a session, traces added from the traces table — is a same-origin ``fetch`` from
``static/labeling.js`` to ``/api/v1`` (collector/labeling/api_routes.py), so the API's checks
and error messages are the UI's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from otel_feedback_collector.api.errors import ApiError
from otel_feedback_collector.catalog.schemas import get_schemas
from otel_feedback_collector.catalog.sessions import ItemRecord, SessionRecord, list_items, list_sessions
from otel_feedback_collector.catalog.users import list_users
from otel_feedback_collector.labeling.context import LabelingContext
from otel_feedback_collector.labeling.summary import REVIEW_PATH, ReviewerProgress, agreement, progress
from otel_feedback_collector.ui.rendering import render_page

if TYPE_CHECKING:
    from otel_feedback_collector.app_context import AppContext

EXPORT_PATH = "/api/v1/labeling/export"
INPUT_TYPES = ("categorical", "categorical_list", "numeric", "text", "text_list")


@dataclass(frozen=True)
class SessionOverview:
    """One row of the sessions list: the session, its item count and each reviewer's progress."""

    session: SessionRecord
    item_count: int
    progress: list[ReviewerProgress]


def labeling_page_routes(context: AppContext) -> Sequence[BaseRoute]:
    """The Labeling section's pages over the collector's catalog."""
    labeling = LabelingContext(context.store, context.data_dir)

    async def home_page(_request: Request) -> Response:
        page = await run_in_threadpool(lambda: _home(labeling))
        return render_page("labeling_home.html", input_types=INPUT_TYPES, export=EXPORT_PATH, **page)

    async def session_page(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        try:
            page = await run_in_threadpool(lambda: _session_detail(labeling, session_id))
        except ApiError as error:
            return render_page("not_found.html", status_code=error.status, message=error.message)
        return render_page("labeling_session.html", review=REVIEW_PATH, export=EXPORT_PATH, **page)

    return [
        Route("/labeling", home_page, methods=["GET"], name="ui_labeling"),
        Route("/labeling/sessions/{session_id}", session_page, methods=["GET"], name="ui_labeling_session"),
    ]


def _home(labeling: LabelingContext) -> dict[str, Any]:
    """Schemas (as their JSON form, which the edit form is filled from), sessions and users."""
    catalog = labeling.catalog
    schemas = [schema.to_dict() for schema in get_schemas(catalog).values()]
    sessions = [_overview(labeling, session) for session in reversed(list_sessions(catalog))]
    users = [name for name, _created in list_users(catalog)]
    return {"schemas": schemas, "sessions": sessions, "users": users}


def _overview(labeling: LabelingContext, session: SessionRecord) -> SessionOverview:
    items = list_items(labeling.catalog, session.session_id)
    return SessionOverview(session, len(items), progress(session, items))


def _session_detail(labeling: LabelingContext, session_id: str) -> dict[str, Any]:
    """The session, its items, the reviewers (assigned first), progress and agreement."""
    session = labeling.session(session_id)
    items: list[ItemRecord] = list_items(labeling.catalog, session.session_id)
    reviewer_progress = progress(session, items)
    return {
        "session": session,
        "items": items,
        "reviewers": [entry.reviewer for entry in reviewer_progress],
        "progress": reviewer_progress,
        "agreement": agreement(labeling.catalog, session, labeling.schemas_of(session), items),
        "positions": {item.trace_id: item.position for item in items},
    }
