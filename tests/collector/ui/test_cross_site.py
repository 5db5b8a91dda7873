"""Cross-site protection of state-changing requests: what must pass and what must NOT pass,
with raw HTTP and from a page on another origin in Chromium."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from ui_support import page_server, send_trace

from otel_feedback_collector.server import CollectorServer

BODY = {"name": "accuracy_score", "type": "feedback", "value": 0.5}


def post_assessment(server: CollectorServer, trace_id: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.http_url}/api/v1/traces/{trace_id}/assessments", json=BODY, headers=headers, timeout=10)


def stored_names(server: CollectorServer, trace_id: str) -> list[str]:
    answer = httpx.get(f"{server.http_url}/api/v1/traces/{trace_id}/assessments", params={"history": "true"})
    return [row["name"] for row in answer.json()["assessments"]]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:1"},  # same host, other port: another origin
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"},
    ],
)
def test_writes_from_other_sites_are_refused_and_store_nothing(collector: CollectorServer, headers: dict[str, str]) -> None:
    trace_id, _root, _child = send_trace(collector)
    answer = post_assessment(collector, trace_id, headers)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "FORBIDDEN"
    assert "--cors-origin" in answer.json()["error"]["message"]
    assert stored_names(collector, trace_id) == []


def test_override_and_delete_from_another_site_are_refused(collector: CollectorServer) -> None:
    trace_id, _root, _child = send_trace(collector)
    created = post_assessment(collector, trace_id, {}).json()
    base = f"{collector.http_url}/api/v1/traces/{trace_id}/assessments/{created['assessment_id']}"
    evil = {"Origin": "https://evil.example"}
    assert httpx.post(base + "/override", json={"value": 1}, headers=evil).status_code == 403
    assert httpx.request("DELETE", base, headers=evil).status_code == 403
    assert httpx.request("PUT", base, headers=evil).status_code == 403
    assert httpx.request("PATCH", base, headers=evil).status_code == 403
    log = httpx.get(f"{collector.http_url}/api/v1/traces/{trace_id}/assessments", params={"history": "true"}).json()
    assert [row["action"] for row in log["assessments"]] == ["create"]


@pytest.mark.parametrize(
    "headers",
    [
        {},  # SDK / curl: no Origin, no fetch metadata
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {"Origin": "SELF"},  # replaced by the collector's own origin below
    ],
)
def test_writes_without_origin_or_from_the_collector_itself_pass(collector: CollectorServer, headers: dict[str, str]) -> None:
    trace_id, _root, _child = send_trace(collector)
    if headers.get("Origin") == "SELF":
        headers = {"Origin": collector.http_url}
    answer = post_assessment(collector, trace_id, headers)
    assert answer.status_code == 201, answer.text
    assert stored_names(collector, trace_id) == ["accuracy_score"]


def test_a_configured_cors_origin_may_write_and_others_still_may_not(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(cors_origins=["https://app.example.com"])
    trace_id, _root, _child = send_trace(server)
    assert post_assessment(server, trace_id, {"Origin": "https://app.example.com"}).status_code == 201
    assert post_assessment(server, trace_id, {"Origin": "https://app.example.com.evil.example"}).status_code == 403


def test_safe_methods_and_otlp_are_not_checked(collector: CollectorServer) -> None:
    trace_id, _root, _child = send_trace(collector)
    evil = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert httpx.get(f"{collector.http_url}/api/v1/traces/{trace_id}", headers=evil).status_code == 200
    assert httpx.get(f"{collector.http_url}/traces/{trace_id}", headers=evil).status_code == 200
    # OTLP exporters are not browsers acting for a visitor: /v1/traces is not checked here.
    otlp = httpx.post(
        f"{collector.http_url}/v1/traces", content=b"", headers={**evil, "Content-Type": "application/x-protobuf"}
    )
    assert otlp.status_code != 403


def test_a_page_on_another_origin_cannot_write_but_the_collector_ui_can(collector: CollectorServer, page: Any) -> None:
    trace_id, _root, _child = send_trace(collector)
    target = f"{collector.http_url}/api/v1/traces/{trace_id}/assessments"
    attack = f"""<!doctype html><html><body>
      <form id="f" method="POST" action="{target}" enctype="text/plain">
        <input name='{{"name": "evil_form", "type": "feedback", "value": true, "x": "' value='"}}'>
      </form>
      <script>
        fetch("{target}", {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}},
                            body: JSON.stringify({{name: "evil_fetch", type: "feedback", value: true}})}});
      </script></body></html>"""
    statuses: list[tuple[str, int]] = []
    page.on("response", lambda response: statuses.append((response.request.method, response.status))
            if response.url == target else None)
    with page_server(attack) as url:
        page.goto(url)
        page.wait_for_function("() => performance.getEntriesByType('resource').length > 0")
        with page.expect_navigation():
            page.eval_on_selector("#f", "form => form.submit()")
    assert statuses == [("POST", 403), ("POST", 403)]  # the fetch, then the form
    assert "Cross-site request refused" in page.content()
    assert stored_names(collector, trace_id) == []

    # The collector's own page writes through the same endpoint (same origin: allowed).
    page.goto(f"{collector.http_url}/traces/{trace_id}")
    result = page.evaluate(
        """async (url) => {
            const answer = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
                body: JSON.stringify({name: "own_page", type: "feedback", value: true})});
            return answer.status;
        }""",
        target,
    )
    assert result == 201
    assert stored_names(collector, trace_id) == ["own_page"]
