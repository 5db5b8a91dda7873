"""The catalog as one JSON document (``GET /api/v1/labeling/export``): schemas, sessions with
their items, states and current answers, and user names. Password hashes and the cookie secret
are never exported."""

from __future__ import annotations

from typing import Any

from otel_feedback_collector.catalog.database import CatalogDatabase
from otel_feedback_collector.catalog.schemas import get_schemas
from otel_feedback_collector.catalog.sessions import current_labels, list_items, list_sessions
from otel_feedback_collector.catalog.users import list_users


def export_catalog(catalog: CatalogDatabase) -> dict[str, Any]:
    """Everything people created in the catalog, JSON-ready."""
    sessions = []
    for session in list_sessions(catalog):
        sessions.append({
            "id": session.session_id,
            "name": session.name,
            "label_schemas": session.label_schemas,
            "assigned_users": session.assigned_users,
            "created_time": session.created_time.isoformat(),
            "items": [
                {"trace_id": item.trace_id, "position": item.position,
                 "states": {reviewer: str(state) for reviewer, state in item.states.items()}}
                for item in list_items(catalog, session.session_id)
            ],
            "labels": [
                {"trace_id": label.trace_id, "reviewer": label.reviewer, "schema": label.schema_name,
                 "value": label.value, "comment": label.comment, "assessment_id": label.assessment_id}
                for label in current_labels(catalog, session.session_id)
            ],
        })
    return {
        "label_schemas": [schema.to_dict() for schema in get_schemas(catalog).values()],
        "labeling_sessions": sessions,
        "users": [name for name, _created in list_users(catalog)],
    }
