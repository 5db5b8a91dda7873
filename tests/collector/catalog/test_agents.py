"""Agents in the catalog: saved, replaced, removed, and a catalog made before agents existed gains the table."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from otel_feedback_collector.catalog import CATALOG_FILE, CatalogDatabase
from otel_feedback_collector.catalog.agents import get_agent, list_agents, remove_agent, save_agent
from otel_feedback_collector.catalog.users import add_user, list_users


def test_agents_are_saved_replaced_and_removed(tmp_path: Path) -> None:
    catalog = CatalogDatabase(tmp_path)
    save_agent(catalog, "bot", base_url="http://127.0.0.1:1/v1", model="a")
    save_agent(catalog, "bot", base_url="http://127.0.0.1:2/v1", model="b")
    save_agent(catalog, "another", base_url="http://127.0.0.1:3/v1", model="c")
    assert [(agent.name, agent.base_url, agent.model) for agent in list_agents(catalog)] == [
        ("another", "http://127.0.0.1:3/v1", "c"), ("bot", "http://127.0.0.1:2/v1", "b")]
    assert remove_agent(catalog, "bot") is True
    assert remove_agent(catalog, "bot") is False
    assert get_agent(catalog, "bot") is None


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 65, "<script>"])
def test_bad_agent_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="An agent name is 1-64"):
        save_agent(CatalogDatabase(tmp_path), name, base_url="http://127.0.0.1:1/v1", model="m")


def test_a_catalog_from_before_agents_keeps_its_data_and_gains_the_table(tmp_path: Path) -> None:
    add_user(CatalogDatabase(tmp_path), "alice", password="review-pw-alpha-1")
    connection = duckdb.connect(str(tmp_path / CATALOG_FILE))
    connection.execute("DROP TABLE agents")  # as a catalog written by the previous release has it
    connection.close()
    catalog = CatalogDatabase(tmp_path)
    save_agent(catalog, "bot", base_url="http://127.0.0.1:1/v1", model="m")
    assert [agent.name for agent in list_agents(catalog)] == ["bot"]
    assert [name for name, _ in list_users(catalog)] == ["alice"]
