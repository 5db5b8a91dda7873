"""The collector's REST API (``/api/v1``): traces, spans and assessments as JSON.

``api_routes(context)`` is the route provider :mod:`collector.app` mounts; ``cors_middleware``
gives the CORS layer for the configured origins. docs/api.md documents every endpoint and
``GET /api/openapi.json`` serves the OpenAPI 3.1 document (:mod:`collector.api.openapi`).
"""

from __future__ import annotations

from collector.api.cors import CORS_ORIGINS_ENV, cors_middleware, parse_origins
from collector.api.json_body import MAX_API_BODY_BYTES
from collector.api.openapi import OPENAPI_DOCUMENT
from collector.api.routes import api_routes

__all__ = [
    "CORS_ORIGINS_ENV",
    "MAX_API_BODY_BYTES",
    "OPENAPI_DOCUMENT",
    "api_routes",
    "cors_middleware",
    "parse_origins",
]
