"""Labeling sessions: a set of traces, the label schemas to answer, and who may answer.

::

    from otel_feedback.labeling import create_labeling_session

    session = create_labeling_session("quickstart_review",
                                      label_schemas=["response_accuracy", "expected_response"])
    session.add_traces(otel_feedback.search_traces(max_results=1))
    print(session.url)          # the review app page to share with reviewers

Reviewers sign in to the review app (``otel-feedback users add NAME`` gives them a password)
and their answers become assessments with a HUMAN source and their name as ``source_id``.
``search_traces(labeling_session=session)`` returns the session's traces with those labels.
``get_review_app().add_agent(...)`` registers an app the reviewers chat with (the "vibe check").
Everything goes through the collector's REST API (``configure(endpoint)`` first).
"""

from __future__ import annotations

import os

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from otel_feedback import _client
from otel_feedback._review_app import Agent, ReviewApp, get_review_app
from otel_feedback.label_schemas import LabelSchema
from otel_feedback_core.labeling import ItemState

if TYPE_CHECKING:
    from otel_feedback.evaluation import EvaluationDataset

PENDING = ItemState.PENDING.value
IN_PROGRESS = ItemState.IN_PROGRESS.value
COMPLETED = ItemState.COMPLETED.value
SKIPPED = ItemState.SKIPPED.value


@dataclass(frozen=True)
class LabelingItem:
    """One trace in a session and each reviewer's state on it (PENDING when absent)."""

    trace_id: str
    position: int
    states: dict[str, str] = field(default_factory=dict)

    def state_of(self, reviewer: str) -> str:
        """The reviewer's state: PENDING, IN_PROGRESS, COMPLETED or SKIPPED."""
        return self.states.get(reviewer, PENDING)


@dataclass
class LabelingSession:
    """A labeling session as the collector knows it (refresh with :func:`get_labeling_session`)."""

    id: str
    name: str
    url: str
    label_schemas: list[str]
    assigned_users: list[str]

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> LabelingSession:
        return cls(
            id=data["id"], name=data["name"], url=data["url"],
            label_schemas=list(data["label_schemas"]), assigned_users=list(data["assigned_users"]),
        )

    def _path(self, suffix: str = "") -> str:
        return f"/labeling-sessions/{_client.quote_segment(self.id)}{suffix}"

    def add_traces(self, traces: Any) -> int:
        """Add traces: a table from ``search_traces`` (its ``trace_id`` column), a list of rows
        (dicts with ``trace_id``), or trace ids. Returns how many were new to the session."""
        trace_ids = _trace_ids(traces)
        if not trace_ids:
            raise ValueError("No traces to add: pass the table from search_traces() or a list of trace ids.")
        answer = _client.request_json("POST", self._path("/items"), body={"trace_ids": trace_ids})
        return int(answer["added"])

    @property
    def items(self) -> list[LabelingItem]:
        """The session's items, in order, with each reviewer's state (read from the collector)."""
        answer = _client.request_json("GET", self._path("/items"))
        return [LabelingItem(item["trace_id"], item["position"], dict(item["states"])) for item in answer["items"]]

    def set_assigned_users(self, users: Sequence[str]) -> LabelingSession:
        """Replace who may label this session (an empty list lets every signed-in user)."""
        if isinstance(users, str):
            raise ValueError("users must be a list of user names, e.g. ['alice']")
        answer = _client.request_json("PUT", self._path("/assigned-users"), body={"assigned_users": list(users)})
        self.assigned_users = list(answer["assigned_users"])
        return self

    def summary(self) -> dict[str, Any]:
        """Progress per reviewer and agreement per schema, as the collector computes them."""
        return _client.request_json("GET", self._path())  # type: ignore[no-any-return]

    def sync(self, *, to_dataset: str, data_dir: str | os.PathLike[str] | None = None) -> EvaluationDataset:
        """Copy the session's traces and their expectation labels into an evaluation dataset.

        Each trace becomes a record (its root input as the inputs, its expectations such as
        ``expected_response`` as the expectations, its id as the source); the dataset is created
        when missing and gets a new version otherwise. ``data_dir`` as for ``create_dataset``.
        """
        from otel_feedback._search import search_traces
        from otel_feedback.evaluation import DatasetNotFound, create_dataset, get_dataset

        traces = search_traces(labeling_session=self, max_results=1000)
        try:
            dataset = get_dataset(to_dataset, data_dir=data_dir)
        except DatasetNotFound:
            dataset = create_dataset(to_dataset, data_dir=data_dir)
        return dataset.merge_records(traces)


def _trace_ids(traces: Any) -> list[str]:
    if isinstance(traces, str):
        return [traces]
    column = getattr(traces, "column", None)
    if callable(column) and hasattr(traces, "column_names"):  # a pyarrow table
        return [str(value) for value in traces.column("trace_id").to_pylist()]
    if hasattr(traces, "columns") and hasattr(traces, "__getitem__") and "trace_id" in list(traces.columns):
        return [str(value) for value in traces["trace_id"].tolist()]  # a pandas DataFrame
    ids = []
    for entry in traces if isinstance(traces, Iterable) else []:
        ids.append(str(entry["trace_id"]) if isinstance(entry, dict) else str(entry))
    return ids


def _schema_names(label_schemas: Sequence[str | LabelSchema]) -> list[str]:
    if isinstance(label_schemas, (str, LabelSchema)):
        label_schemas = [label_schemas]
    return [schema.name if isinstance(schema, LabelSchema) else str(schema) for schema in label_schemas]


def create_labeling_session(
    name: str,
    *,
    label_schemas: Sequence[str | LabelSchema],
    assigned_users: Sequence[str] | None = None,
) -> LabelingSession:
    """Create a session asking ``label_schemas`` (names or schemas) of its traces; with
    ``assigned_users``, only those users may label it."""
    body = {"name": name, "label_schemas": _schema_names(label_schemas), "assigned_users": list(assigned_users or [])}
    return LabelingSession._from_json(_client.request_json("POST", "/labeling-sessions", body=body))


def get_labeling_session(session_id: str) -> LabelingSession:
    """The session with this id; ``NotFound`` if there is none."""
    return LabelingSession._from_json(
        _client.request_json("GET", f"/labeling-sessions/{_client.quote_segment(session_id)}")
    )


def get_labeling_sessions(*, name: str | None = None) -> list[LabelingSession]:
    """Every session (or those called ``name``), oldest first."""
    answer = _client.request_json("GET", "/labeling-sessions", query={"name": name})
    return [LabelingSession._from_json(item) for item in answer["labeling_sessions"]]


def delete_labeling_session(session: LabelingSession | str) -> None:
    """Delete a session (its items and progress); the assessments reviewers made stay."""
    session_id = session.id if isinstance(session, LabelingSession) else session
    _client.request_json("DELETE", f"/labeling-sessions/{_client.quote_segment(session_id)}")


__all__ = [
    "Agent",
    "COMPLETED",
    "IN_PROGRESS",
    "PENDING",
    "SKIPPED",
    "LabelingItem",
    "LabelingSession",
    "ReviewApp",
    "create_labeling_session",
    "delete_labeling_session",
    "get_labeling_session",
    "get_labeling_sessions",
    "get_review_app",
]
