"""Expert review: the labeling REST endpoints and the review app (``/review``).

``labeling_routes(context)`` is the route provider :mod:`otel_feedback_collector.app` mounts. It must come
before the REST API's ``/api/v1`` mount, which answers every other ``/api/v1`` path itself.
docs/labeling.md describes schemas, sessions, the review app and the agreement figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from otel_feedback_collector.labeling.agent_routes import agent_routes
from otel_feedback_collector.labeling.api_routes import labeling_api_routes
from otel_feedback_collector.labeling.chat_routes import chat_routes
from otel_feedback_collector.labeling.context import LabelingContext
from otel_feedback_collector.labeling.review_routes import review_routes

if TYPE_CHECKING:
    from otel_feedback_collector.app_context import AppContext

__all__ = ["LabelingContext", "labeling_routes"]


def labeling_routes(context: AppContext) -> Sequence[BaseRoute]:
    """The labeling REST endpoints and the review app over the collector's store and catalog."""
    labeling = LabelingContext(context.store, context.data_dir)
    return [*labeling_api_routes(labeling), *agent_routes(labeling), *review_routes(labeling),
            *chat_routes(labeling)]
