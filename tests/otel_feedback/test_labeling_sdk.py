"""The labeling SDK against a real collector: schemas (built-ins, overwrite rule, delete rules),
sessions (get, list, assign, delete) and the bearer token (API needs it, review app does not)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from collector_session import configured_endpoint

from otel_feedback_collector.catalog import CatalogDatabase
from otel_feedback_collector.catalog.users import add_user
from otel_feedback_collector.server import CollectorServer
from otel_feedback import InvalidRequest, NotFound, Unauthorized
from otel_feedback.label_schemas import (
    InputCategorical,
    InputNumeric,
    create_label_schema,
    delete_label_schema,
    get_label_schema,
    list_label_schemas,
)
from otel_feedback.labeling import (
    create_labeling_session,
    delete_labeling_session,
    get_labeling_session,
    get_labeling_sessions,
)


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorServer]:
    add_user(CatalogDatabase(tmp_path / "data"), "alice", password="review-pw-alpha-1")
    with CollectorServer(tmp_path / "data", port=0, grpc_port=None, token="s3cret") as server:
        with configured_endpoint(server.http_url, token="s3cret"):
            yield server


def test_schemas_built_ins_overwrite_and_delete(collector: CollectorServer) -> None:
    assert {"expected_response", "expected_facts", "guidelines"} <= {s.name for s in list_label_schemas()}
    first = create_label_schema("score", title="Score?", input=InputNumeric(min_value=0, max_value=1))
    assert get_label_schema("score") == first
    with pytest.raises(InvalidRequest, match="already exists; pass overwrite=True"):
        create_label_schema("score", title="Other", input=InputNumeric())
    replaced = create_label_schema("score", title="Other", input=InputCategorical(["a"]), overwrite=True)
    assert get_label_schema("score").title == "Other" == replaced.title
    session = create_labeling_session("uses score", label_schemas=[replaced])
    with pytest.raises(InvalidRequest, match="delete those sessions first"):
        delete_label_schema("score")
    delete_labeling_session(session)
    delete_label_schema("score")
    with pytest.raises(NotFound):
        get_label_schema("score")


def test_sessions_get_list_assign_delete(collector: CollectorServer) -> None:
    session = create_labeling_session("review", label_schemas=["expected_response"])
    assert session.url == f"{collector.http_url}/review/sessions/{session.id}"
    assert get_labeling_session(session.id) == session
    assert [s.id for s in get_labeling_sessions(name="review")] == [session.id]
    assert session.set_assigned_users(["alice"]).assigned_users == ["alice"]
    with pytest.raises(InvalidRequest, match="users add"):
        session.set_assigned_users(["nobody"])
    with pytest.raises(InvalidRequest, match="Unknown label schema"):
        create_labeling_session("bad", label_schemas=["missing"])
    with pytest.raises(InvalidRequest, match="trace"):
        session.add_traces(["not-a-trace-id"])
    delete_labeling_session(session)
    with pytest.raises(NotFound):
        get_labeling_session(session.id)


def test_the_token_guards_the_api_but_not_the_review_sign_in(collector: CollectorServer) -> None:
    with configured_endpoint(collector.http_url), pytest.raises(Unauthorized):
        list_label_schemas()
    assert httpx.get(f"{collector.http_url}/api/v1/labeling/export").status_code == 401
    assert httpx.get(f"{collector.http_url}/review/signin").status_code == 200
    exported = httpx.get(f"{collector.http_url}/api/v1/labeling/export",
                         headers={"Authorization": "Bearer s3cret"}).json()
    assert exported["users"] == ["alice"] and "review-pw-alpha-1" not in str(exported) and "password" not in str(exported)
