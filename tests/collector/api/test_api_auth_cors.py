"""Bearer token and CORS on the REST API: the case that must pass and the case that must not."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from api_test_support import log_rows, preflight, send_trace
from otel_feedback_collector.api import parse_origins
from otel_feedback_collector.server import CollectorServer

ALLOWED = "http://localhost:3000"
FOREIGN = "https://evil.example"


def _preflight(server: CollectorServer, path: str, origin: str, method: str = "POST") -> httpx.Response:
    return preflight(f"{server.http_url}{path}", origin=origin, method=method)


def test_token_required_when_set(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(token="s3cret")
    sent = send_trace(server, token="s3cret")
    url = f"{server.http_url}/api/v1/traces/{sent.trace_id}/assessments"
    body = {"name": "user_feedback", "value": True}
    refused = httpx.post(url, json=body)
    assert refused.status_code == 401
    assert httpx.post(url, json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(f"{server.http_url}/api/openapi.json").status_code == 401
    accepted = httpx.post(url, json=body, headers={"Authorization": "Bearer s3cret"})
    assert accepted.status_code == 201
    assert len(log_rows(server)) == 1


def test_allowed_origin_gets_cors_and_can_post(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(cors_origins=[ALLOWED])
    sent = send_trace(server)
    path = f"/api/v1/traces/{sent.trace_id}/assessments"
    asked = _preflight(server, path, ALLOWED)
    assert asked.status_code == 200
    assert asked.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in asked.headers["access-control-allow-methods"]
    assert "content-type" in asked.headers["access-control-allow-headers"].lower()
    delete_preflight = _preflight(server, f"{path}/abc", ALLOWED, method="DELETE")
    assert delete_preflight.status_code == 200
    answer = httpx.post(f"{server.http_url}{path}", json={"name": "thumbs", "value": True}, headers={"Origin": ALLOWED})
    assert answer.status_code == 201
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    assert "origin" in answer.headers.get("vary", "").lower()


@pytest.mark.parametrize(
    ("configured", "origin"),
    [([ALLOWED], FOREIGN), ([], ALLOWED)],
    ids=["disallowed-origin", "no-origins-configured"],
)
def test_origin_not_allowed_gets_no_cors_headers(
    start_collector: Callable[..., CollectorServer], configured: list[str], origin: str
) -> None:
    server = start_collector(cors_origins=configured)
    sent = send_trace(server)
    path = f"/api/v1/traces/{sent.trace_id}/assessments"
    refused = _preflight(server, path, origin)
    assert refused.status_code >= 400
    assert "access-control-allow-origin" not in refused.headers
    answer = httpx.get(f"{server.http_url}{path}", headers={"Origin": origin})
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


def test_cors_with_token_preflight_passes_and_401_is_readable(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(token="s3cret", cors_origins=[ALLOWED])
    sent = send_trace(server, token="s3cret")
    path = f"/api/v1/traces/{sent.trace_id}/assessments"
    # A browser sends the preflight without credentials; it must not be refused for that.
    answer = preflight(f"{server.http_url}{path}", origin=ALLOWED, headers="authorization, content-type")
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    unauthorized = httpx.post(f"{server.http_url}{path}", json={"name": "x", "value": 1}, headers={"Origin": ALLOWED})
    assert unauthorized.status_code == 401
    assert unauthorized.headers["access-control-allow-origin"] == ALLOWED
    assert _preflight(server, path, FOREIGN).headers.get("access-control-allow-origin") is None


def test_cors_applies_to_the_api_only(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(cors_origins=[ALLOWED])
    answer = httpx.get(f"{server.http_url}/healthz", headers={"Origin": ALLOWED})
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


def test_origin_list_parsing() -> None:
    assert parse_origins(["http://localhost:3000, https://App.Example.com/", "http://localhost:3000"]) == (
        "http://localhost:3000",
        "https://app.example.com",
    )
    assert parse_origins([""]) == ()
    assert parse_origins(["*"]) == ("*",)
    for bad in ("localhost:3000", "https://app.example.com/path", "ftp://x", "https://"):
        with pytest.raises(ValueError, match="scheme://host"):
            parse_origins([bad])
