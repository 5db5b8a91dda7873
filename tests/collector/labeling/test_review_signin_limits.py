"""Review-app sign-in limits over real HTTP: throttling per name and per address (429 with
Retry-After), sign-out ending the session on the server, the sign-in page under ``--token``,
and a bound on the memory a flood of sign-ins can take."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from review_support import PASSWORDS, form_token, sign_in

from otel_feedback_collector.catalog import CatalogDatabase
from otel_feedback_collector.labeling import signin_throttle
from otel_feedback_collector.catalog.users import add_user
from otel_feedback_collector.server import CollectorProcess, CollectorServer


def attempt(base_url: str, name: str, password: str) -> httpx.Response:
    """One sign-in attempt from a fresh (signed-out) client."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        token = form_token(client.get("/review/signin").text)
        return client.post("/review/signin", data={"csrf_token": token, "name": name, "password": password,
                                                   "next": "/review/"})


@pytest.fixture
def stopped_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The throttle's clock stands still (in this process's servers): a 1 s back-off cannot
    run out while a loaded machine makes the next attempt."""
    monkeypatch.setattr(signin_throttle, "time", SimpleNamespace(monotonic=lambda: 1_000.0))


def test_a_name_is_locked_after_five_failures_even_for_the_right_password(
    collector: CollectorServer, stopped_clock: None
) -> None:
    url = collector.http_url
    assert [attempt(url, "alice", "wrong password 1").status_code for _ in range(5)] == [401] * 5
    locked = attempt(url, "alice", PASSWORDS["alice"])
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) >= 1
    assert "Too many failed sign-ins" in locked.text and "Wait 1 seconds" in locked.text
    assert "otel_feedback_reviewer" not in locked.headers.get("set-cookie", "")
    assert attempt(url, "bob", PASSWORDS["bob"]).status_code == 303  # other names still sign in


def test_an_address_guessing_many_names_is_throttled(collector: CollectorServer, stopped_clock: None) -> None:
    url = collector.http_url
    statuses = [attempt(url, f"guess{number}", "wrong password 1").status_code for number in range(20)]
    assert statuses == [401] * 20
    refused = attempt(url, "alice", PASSWORDS["alice"])
    assert refused.status_code == 429 and "Retry-After" in refused.headers


def test_signing_out_ends_the_session_on_the_server(collector: CollectorServer, demo_trace_ids: list[str]) -> None:
    from otel_feedback.label_schemas import InputNumeric, create_label_schema
    from otel_feedback.labeling import create_labeling_session

    create_label_schema("limits_score", type="feedback", title="Score", input=InputNumeric(min_value=0, max_value=1))
    session = create_labeling_session("limits", label_schemas=["limits_score"])
    session.add_traces(demo_trace_ids[:1])
    first = sign_in(collector.http_url, "alice")
    other_browser = sign_in(collector.http_url, "alice")
    page = f"/review/sessions/{session.id}"
    try:
        assert first.get(page).status_code == 200
        stolen = first.cookies.get("otel_feedback_reviewer")
        token = form_token(first.get(page + "/items/1").text)
        assert first.post("/review/signout").status_code == 303
        with httpx.Client(base_url=collector.http_url, timeout=30) as replay:
            replay.cookies.set("otel_feedback_reviewer", stolen, path="/review")
            answer = replay.get(page)
            assert answer.status_code == 303 and "/review/signin" in answer.headers["location"]
            post = replay.post(page + "/items/1", data={"csrf_token": token, "action": "skip"})
            assert post.status_code == 403 and "Sign in again" in post.text
        assert other_browser.get(page).status_code == 200  # signing out one browser leaves the other
    finally:
        first.close()
        other_browser.close()


def test_a_forged_or_old_format_cookie_signs_no_one_in(collector: CollectorServer) -> None:
    with httpx.Client(base_url=collector.http_url, timeout=30) as client:
        for value in ("YWxpY2U.99999999999.00", "abc.def", "x" * 5000, "é.é"):
            cookie = f"otel_feedback_reviewer={value}".encode()  # raw bytes: non-ASCII too
            assert client.get("/review/", headers={"Cookie": cookie}).status_code == 303, value


def test_with_a_token_the_sign_in_page_stays_reachable_and_throttled(demo_dir: Path, stopped_clock: None) -> None:
    with CollectorServer(demo_dir, port=0, grpc_port=None, token="write-token-1") as server:
        assert httpx.get(f"{server.http_url}/api/v1/labeling-sessions").status_code == 401
        assert httpx.get(f"{server.http_url}/review/signin").status_code == 200
        client = sign_in(server.http_url, "bob")
        client.close()
        assert [attempt(server.http_url, "alice", "wrong password 1").status_code for _ in range(5)] == [401] * 5
        assert attempt(server.http_url, "alice", PASSWORDS["alice"]).status_code == 429


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc to read peak memory")
def test_a_flood_of_sign_ins_cannot_take_the_memory_of_many_hashes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_user(CatalogDatabase(data), "alice", password=PASSWORDS["alice"])
    with CollectorProcess(data, args=["--grpc-port", "-1"]) as process:
        url = process.http_url
        assert attempt(url, "alice", PASSWORDS["alice"]).status_code == 303  # warm up: imports, catalog
        before = _peak_rss_mib(process.pid)
        # 60 simultaneous sign-ins with the right password (so the throttle lets them all hash):
        # without a bound, 40 thread-pool threads hash at once, 16 MiB each.
        with concurrent.futures.ThreadPoolExecutor(max_workers=60) as pool:
            statuses = list(pool.map(lambda _n: attempt(url, "alice", PASSWORDS["alice"]).status_code, range(60)))
        growth = _peak_rss_mib(process.pid) - before
    assert set(statuses) <= {303, 503} and 303 in statuses
    assert growth < 150, f"peak RSS grew by {growth:.0f} MiB during the flood"
