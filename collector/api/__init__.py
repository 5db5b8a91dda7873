"""The collector's REST API (``/api/v1``): traces, spans and assessments as JSON.

``api_routes(context)`` is the route provider :mod:`otel_feedback_collector.app` mounts; ``cors_middleware``
gives the CORS layer for the configured origins. docs/api.md documents every endpoint and
``GET /api/openapi.json`` serves the OpenAPI 3.1 document (:mod:`otel_feedback_collector.api.openapi`).
"""

from __future__ import annotations

from otel_feedback_collector.api.cors import CORS_ORIGINS_ENV, cors_middleware, parse_origins
from otel_feedback_collector.api.json_body import MAX_API_BODY_BYTES
from otel_feedback_collector.api.openapi import OPENAPI_DOCUMENT
from otel_feedback_collector.api.routes import api_routes

__all__ = [
    "CORS_ORIGINS_ENV",
    "MAX_API_BODY_BYTES",
    "OPENAPI_DOCUMENT",
    "api_routes",
    "cors_middleware",
    "parse_origins",
]
