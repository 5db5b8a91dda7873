"""get_review_app() against a real collector: agents registered after one check of their URL,
listed, removed; wrong URLs refused with a sentence and nothing stored."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector_session import configured_endpoint

from otel_feedback import InvalidRequest, NotFound
from otel_feedback.chat_app import ChatAppServer
from otel_feedback.labeling import Agent, get_review_app
from otel_feedback_collector.server import CollectorServer


@pytest.fixture
def empty_collector(tmp_path: Path) -> Iterator[CollectorServer]:
    with CollectorServer(tmp_path / "data", port=0, grpc_port=None) as server:
        with configured_endpoint(server.http_url):
            yield server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def echo(question: str) -> str:
    return question


def test_an_agent_is_registered_listed_and_removed(empty_collector: CollectorServer) -> None:
    review_app = get_review_app()
    assert review_app.url == f"{empty_collector.http_url}/review"
    assert review_app.agents == []
    with ChatAppServer(echo, port=0) as app:
        review_app.add_agent(agent_name="echo-bot", model_serving_endpoint=app.base_url + "/")
    assert review_app.agents == [Agent("echo-bot", app.base_url, "echo")]
    review_app.remove_agent("echo-bot")
    assert review_app.agents == []
    with pytest.raises(NotFound, match="There is no agent 'echo-bot'"):
        review_app.remove_agent("echo-bot")


def test_a_url_nobody_answers_is_refused_with_the_reason(empty_collector: CollectorServer) -> None:
    review_app = get_review_app()
    url = f"http://127.0.0.1:{_free_port()}/v1"
    with pytest.raises(InvalidRequest, match=r"The agent 'bot' was not registered: Could not reach .*/v1/models"):
        review_app.add_agent(agent_name="bot", model_serving_endpoint=url)
    assert review_app.agents == []


def test_a_url_that_is_not_an_openai_base_url_is_refused(empty_collector: CollectorServer) -> None:
    review_app = get_review_app()
    # The collector itself answers, but not as an OpenAI-compatible API.
    with pytest.raises(InvalidRequest, match=r"answered HTTP 404\. Is this the base URL"):
        review_app.add_agent(agent_name="bot", model_serving_endpoint=empty_collector.http_url + "/nothing")
    for bad in ("ftp://example.com/v1", "not a url", ""):
        with pytest.raises(InvalidRequest, match="model_serving_endpoint must be"):
            review_app.add_agent(agent_name="bot", model_serving_endpoint=bad)
    assert review_app.agents == []
