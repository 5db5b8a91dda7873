"""Agents: the apps reviewers chat with in the review app (``/review/chat``), by name.

An agent is an OpenAI-compatible base URL (``otel-feedback chat-app``, vLLM, Ollama, a hosted
API) and the model name to ask it for. Registering a name again replaces its URL and model.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from otel_feedback_collector.catalog.database import CatalogDatabase

_AGENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True)
class AgentRecord:
    """One registered agent."""

    name: str
    base_url: str
    model: str
    created_time: dt.datetime

    def to_json(self) -> dict[str, str]:
        """The agent as the REST API and the SDK show it."""
        return {"agent_name": self.name, "model_serving_endpoint": self.base_url, "model": self.model,
                "created_time": self.created_time.isoformat()}


def check_agent_name(name: object) -> str:
    """``name`` if it is a valid agent name (letters, digits, ``_ . -``, at most 64); else ValueError."""
    if not isinstance(name, str) or not _AGENT_NAME.match(name):
        raise ValueError(
            f"An agent name is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit; got {name!r}."
        )
    return name


def save_agent(catalog: CatalogDatabase, name: str, *, base_url: str, model: str) -> AgentRecord:
    """Register ``name`` (replacing an agent of that name) and return it."""
    record = AgentRecord(check_agent_name(name), base_url, model, dt.datetime.now(dt.timezone.utc))
    with catalog.transaction() as connection:
        connection.execute("DELETE FROM agents WHERE name = ?", [name])
        connection.execute("INSERT INTO agents VALUES (?, ?, ?, ?)",
                           [record.name, record.base_url, record.model, record.created_time])
    return record


def list_agents(catalog: CatalogDatabase) -> list[AgentRecord]:
    """Every agent, by name."""
    with catalog.transaction() as connection:
        rows = connection.execute("SELECT name, base_url, model, created_time FROM agents ORDER BY name").fetchall()
    return [AgentRecord(*row) for row in rows]


def get_agent(catalog: CatalogDatabase, name: str) -> AgentRecord | None:
    """The agent called ``name``, or None."""
    return next((agent for agent in list_agents(catalog) if agent.name == name), None)


def remove_agent(catalog: CatalogDatabase, name: str) -> bool:
    """Forget the agent; False when there was none of that name."""
    with catalog.transaction() as connection:
        found = connection.execute("SELECT count(*) FROM agents WHERE name = ?", [name]).fetchone()[0]
        connection.execute("DELETE FROM agents WHERE name = ?", [name])
    return bool(found)
