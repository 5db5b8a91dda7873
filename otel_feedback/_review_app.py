"""The review app as the SDK sees it: its URL and the agents reviewers chat with (``/chat``).

::

    from otel_feedback.labeling import get_review_app

    review_app = get_review_app()
    review_app.add_agent(agent_name="my-chatbot", model_serving_endpoint="http://127.0.0.1:8000/v1")
    print(review_app.url + "/chat")     # share with the domain experts

Agents live in the collector's catalog; the collector checks an endpoint with one request when
it is added (``InvalidRequest`` says why a URL was refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from otel_feedback import _client

_PATH = "/review-app"


@dataclass(frozen=True)
class Agent:
    """An app reviewers can chat with: a name and an OpenAI-compatible base URL."""

    agent_name: str
    model_serving_endpoint: str
    model: str

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> Agent:
        return cls(data["agent_name"], data["model_serving_endpoint"], data["model"])


@dataclass
class ReviewApp:
    """The collector's review app: ``url`` (``url + "/chat"`` is the chat page) and its agents."""

    url: str

    @property
    def agents(self) -> list[Agent]:
        """The registered agents, by name (read from the collector)."""
        answer = _client.request_json("GET", _PATH)
        return [Agent._from_json(agent) for agent in answer["agents"]]

    def add_agent(self, *, agent_name: str, model_serving_endpoint: str, model: str | None = None) -> ReviewApp:
        """Register (or replace) an agent: any OpenAI-compatible base URL, e.g. what
        ``otel-feedback chat-app`` prints, a vLLM or Ollama server. ``model`` defaults to the
        first model its ``/models`` lists. The collector calls that once and refuses a URL that
        does not answer (``InvalidRequest``)."""
        body: dict[str, Any] = {"agent_name": agent_name, "model_serving_endpoint": model_serving_endpoint}
        if model is not None:
            body["model"] = model
        _client.request_json("POST", f"{_PATH}/agents", body=body, timeout=30)
        return self

    def remove_agent(self, agent_name: str) -> ReviewApp:
        """Forget an agent (``NotFound`` when there is none of that name)."""
        _client.request_json("DELETE", f"{_PATH}/agents/{_client.quote_segment(agent_name)}")
        return self


def get_review_app() -> ReviewApp:
    """The review app of the configured collector (``configure(endpoint)`` first)."""
    return ReviewApp(url=_client.request_json("GET", _PATH)["url"])
