"""The OpenAPI document matches the routes: every /api route and method is documented, and back."""

from __future__ import annotations

from collections.abc import Iterable

import httpx
from starlette.routing import BaseRoute, Mount, Route

from otel_feedback_collector.api import OPENAPI_DOCUMENT
from otel_feedback_collector.app import build_app
from otel_feedback_collector.app_context import AppContext
from otel_feedback_collector.server import CollectorServer


def _routes(routes: Iterable[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            found |= _routes(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            for method in route.methods or ():
                if method != "HEAD":
                    found.add((prefix + route.path, method.lower()))
    return found


def test_every_api_route_is_documented_and_every_documented_route_exists() -> None:
    app = build_app(AppContext(store=None, pipeline=None, data_dir=None, max_body_bytes=1))  # type: ignore[arg-type]
    served = {(path, method) for path, method in _routes(app.routes) if path.startswith("/api")}
    documented = {(path, method) for path, item in OPENAPI_DOCUMENT["paths"].items() for method in item}
    assert served == documented
    assert ("/api/v1/traces/{trace_id}/assessments", "post") in served
    assert ("/api/v1/labeling-sessions", "post") in served


def test_document_is_openapi_3_1_and_its_references_resolve(collector: CollectorServer) -> None:
    answer = httpx.get(f"{collector.http_url}/api/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert document == OPENAPI_DOCUMENT
    assert document["openapi"].startswith("3.1")
    schemas = document["components"]["schemas"]

    def refs(node: object) -> Iterable[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    names = {ref.rsplit("/", 1)[1] for ref in refs(document)}
    assert names and names <= set(schemas)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation["operationId"] and operation["responses"], (path, method)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert "{" + parameter["name"] + "}" in path
