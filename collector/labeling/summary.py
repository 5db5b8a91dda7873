"""A session at a glance: per-reviewer progress, per-schema agreement, and the JSON forms the
REST API answers with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from otel_feedback_collector.catalog import CatalogDatabase
from otel_feedback_collector.catalog.sessions import ItemRecord, ItemState, SessionRecord, current_labels
from otel_feedback_collector.labeling.agreement import SchemaAgreement, schema_agreement
from otel_feedback.label_schemas import InputText, InputTextList, LabelSchema

REVIEW_PATH = "/review"


@dataclass(frozen=True)
class ReviewerProgress:
    """How far one reviewer is: ``done`` = completed + skipped, out of ``total`` items."""

    reviewer: str
    completed: int
    skipped: int
    total: int

    @property
    def done(self) -> int:
        """Items the reviewer finished (answered or skipped)."""
        return self.completed + self.skipped

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"reviewer": self.reviewer, "completed": self.completed, "skipped": self.skipped,
                "done": self.done, "total": self.total}


def progress(session: SessionRecord, items: Sequence[ItemRecord]) -> list[ReviewerProgress]:
    """Progress of every assigned reviewer and of anyone else who touched an item."""
    reviewers = list(session.assigned_users)
    for item in items:
        reviewers.extend(reviewer for reviewer in item.states if reviewer not in reviewers)
    return [
        ReviewerProgress(
            reviewer,
            completed=sum(item.state_of(reviewer) is ItemState.COMPLETED for item in items),
            skipped=sum(item.state_of(reviewer) is ItemState.SKIPPED for item in items),
            total=len(items),
        )
        for reviewer in reviewers
    ]


def agreement(
    catalog: CatalogDatabase, session: SessionRecord, schemas: Sequence[LabelSchema], items: Sequence[ItemRecord]
) -> list[SchemaAgreement]:
    """Agreement per schema with categorical or numeric answers (free text is not compared);
    items where reviewers disagree are listed in queue order."""
    position = {item.trace_id: item.position for item in items}
    labels = sorted(current_labels(catalog, session.session_id), key=lambda label: position.get(label.trace_id, 0))
    results = []
    for schema in schemas:
        if isinstance(schema.input, (InputText, InputTextList)):
            continue
        ratings: dict[str, dict[str, Any]] = {}
        for label in labels:
            if label.schema_name == schema.name:
                ratings.setdefault(label.trace_id, {})[label.reviewer] = label.value
        results.append(schema_agreement(schema.name, ratings))
    return results


def session_url(base_url: str, session_id: str) -> str:
    """The review app's page of a session."""
    return f"{base_url.rstrip('/')}{REVIEW_PATH}/sessions/{session_id}"


def session_to_json(session: SessionRecord, *, base_url: str) -> dict[str, Any]:
    """The REST API's LabelingSession object."""
    return {
        "id": session.session_id,
        "name": session.name,
        "url": session_url(base_url, session.session_id),
        "label_schemas": session.label_schemas,
        "assigned_users": session.assigned_users,
        "created_time": session.created_time.isoformat(),
    }


def item_to_json(item: ItemRecord) -> dict[str, Any]:
    """The REST API's LabelingItem object."""
    return {
        "trace_id": item.trace_id,
        "position": item.position,
        "states": {reviewer: str(state) for reviewer, state in item.states.items()},
    }
