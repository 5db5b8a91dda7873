"""A data directory shaped to exercise the collector's read path (the trace index), and what
every read gives on it, so tests can compare the indexed reads with the Parquet-only ones.

The scenario spreads traces over several flushes: a trace whose children are flushed before
its root, a trace with no root at all, an ERROR trace, token counts, and assessments created,
overridden and deleted through both ``write_logs`` and ``write_assessments``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from otel_feedback_collector.pricing import load_price_table
from otel_feedback_collector.query import search
from otel_feedback_collector.query.search import find_traces, trace_rows
from otel_feedback_collector.storage import AssessmentRecord, SpanStore, file_traces
from otel_feedback_collector.storage import connect as parquet_connect
from otel_feedback_collector.ui.cost_queries import trace_costs
from otel_feedback_collector.ui.queries import span_types
from otlp_builders import logs_request, make_span, traces_request

_EVENT = "gen_ai.evaluation.result"
_BASE_NS = 1_790_000_000_000_000_000  # a fixed start (Jan 2026) so orders are deterministic

# (filter, order_by) pairs each read is compared on; paged two rows at a time.
SEARCHES: list[tuple[str | None, str | None]] = [
    (None, None),
    ("assessments.user_feedback = false", None),
    ("assessments.user_feedback = true", "start_time ASC"),
    ("status = 'ERROR'", None),
    ("span_type = 'LLM'", "total_tokens DESC"),
    ("span_type = 'RETRIEVER'", "duration_ms DESC"),
    (None, "span_count ASC"),
    (None, "name ASC"),
]


@dataclass
class Scenario:
    """The trace ids of the scenario, by role, and the root spans' inputs."""

    late_root: str  # children in flush 1, root in flush 2
    no_root: str  # children only, never a root
    error: str  # an ERROR root
    plain: str  # one whole trace in one flush
    late_plain: str  # a whole trace in the last flush
    root_inputs: dict[str, str]


def start_ns(step: int) -> int:
    """A start time ``step`` seconds after the scenario's base."""
    return _BASE_NS + step * 1_000_000_000


def chain(
    trace_id: bytes, *, step: int, text: str, tokens: int = 0, error: bool = False, experiment: str = "exp-a"
) -> tuple[Any, list[Any]]:
    """A CHAIN root (returned first) and its children (RETRIEVER, and an LLM with ``tokens``)."""
    root = make_span(
        trace_id=trace_id,
        name=f"chat_app {text}",
        start_ns=start_ns(step),
        duration_ns=900_000_000 + step,
        status_error=error,
        attributes={
            "openinference.span.kind": "CHAIN",
            "input.value": f"question: {text}",
            "output.value": f"answer: {text}",
            "session.id": f"session-{text}",
            "user.id": "u1",
            "otel_feedback.experiment": experiment,
        },
    )
    children = [
        _child(root, 1_000, "retrieve", {
            "openinference.span.kind": "RETRIEVER",
            "input.value": f"retrieve {text}",
            "output.value": f"documents for {text}",
        })
    ]
    if tokens:
        children.append(
            _child(root, 2_000, "chat gpt-4o-mini", {
                "openinference.span.kind": "LLM",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": tokens,
                "gen_ai.usage.output_tokens": tokens // 2,
            })
        )
    return root, children


def _child(root: Any, offset_ns: int, name: str, attributes: dict[str, Any]) -> Any:
    """A child span of ``root`` starting ``offset_ns`` after it."""
    return make_span(
        trace_id=root.trace_id,
        name=name,
        parent_span_id=root.span_id,
        start_ns=root.start_time_unix_nano + offset_ns,
        attributes=attributes,
    )


def feedback_log(trace_id: bytes, assessment_id: str, value: bool) -> Any:
    """A ``user_feedback`` log record as the SDK sends it."""
    return logs_request(
        [
            {
                "trace_id": trace_id,
                "span_id": os.urandom(8),
                "event_name": _EVENT,
                "attributes": {
                    "gen_ai.evaluation.name": "user_feedback",
                    "otel_feedback.assessment.id": assessment_id,
                    "otel_feedback.assessment.type": "feedback",
                    "otel_feedback.assessment.value": "true" if value else "false",
                    "otel_feedback.assessment.source.type": "HUMAN",
                },
            }
        ]
    )


def fill(store: SpanStore) -> Scenario:
    """Write the scenario into ``store`` in four flushes."""
    ids = {name: os.urandom(16) for name in ("late_root", "no_root", "error", "plain", "late_plain")}
    late_root, late_children = chain(ids["late_root"], step=1, text="late", tokens=40)
    no_root_root, no_root_children = chain(ids["no_root"], step=2, text="orphan", tokens=7)
    error_root, error_children = chain(ids["error"], step=3, text="error", error=True, experiment="exp-b")
    plain_root, plain_children = chain(ids["plain"], step=4, text="plain", tokens=100)
    store.write_traces(traces_request([*late_children, *no_root_children]))
    store.write_traces(traces_request([error_root, *error_children, plain_root, *plain_children]))
    store.write_logs(feedback_log(ids["plain"], "fb-plain", False))
    store.flush()

    store.write_traces(traces_request([late_root]))
    store.write_logs(feedback_log(ids["late_root"], "fb-late", False))
    store.write_logs(feedback_log(ids["error"], "fb-error", True))
    store.flush()

    late_plain_root, late_plain_children = chain(ids["late_plain"], step=5, text="newest", tokens=3)
    store.write_traces(traces_request([late_plain_root, *late_plain_children]))
    store.write_assessments(
        [
            # plain: false, then overridden to true; error: its feedback deleted.
            AssessmentRecord(
                trace_id=ids["plain"].hex(), name="user_feedback", value=True, action="override", overrides="fb-plain"
            ),
            AssessmentRecord(trace_id=ids["error"].hex(), name="user_feedback", action="delete", overrides="fb-error"),
            AssessmentRecord(trace_id=ids["late_plain"].hex(), name="relevance", value=0.5, type="feedback"),
        ]
    )
    store.flush()
    store.write_logs(feedback_log(ids["late_plain"], "fb-newest", False))
    store.flush()
    return Scenario(
        **{name: trace_id.hex() for name, trace_id in ids.items()},
        root_inputs={
            ids[name].hex(): _input(root)
            for name, root in (("late_root", late_root), ("error", error_root), ("plain", plain_root), ("late_plain", late_plain_root))
        },
    )


def _input(root: Any) -> str:
    return next(kv.value.string_value for kv in root.attributes if kv.key == "input.value")


def all_pages(connection: duckdb.DuckDBPyConnection, filter: str | None, order_by: str | None) -> list[list[dict[str, Any]]]:  # noqa: A002
    """Every page (two rows each) of one search."""
    pages: list[list[dict[str, Any]]] = []
    token: str | None = None
    for _ in range(20):  # bounded: the scenario has five traces
        page = find_traces(connection, filter=filter, order_by=order_by, max_results=2, page_token=token)
        pages.append(page.rows)
        token = page.next_page_token
        if token is None:
            return pages
    raise AssertionError(f"search {filter!r} never reached its last page")


def reads(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """What every read of the read path gives on ``connection``, in a comparable form."""
    cursor = connection.execute("SELECT * FROM traces ORDER BY trace_id")
    names = [column[0] for column in cursor.description]
    traces = [dict(zip(names, row)) for row in cursor.fetchall()]
    ids = [row["trace_id"] for row in traces]
    return {
        "traces": traces,
        "searches": {f"{f} / {o}": all_pages(connection, f, o) for f, o in SEARCHES},
        "trace_rows": trace_rows(connection, ids),
        "trace_rows_reversed": trace_rows(connection, ids[::-1]),
        "spans": connection.execute("SELECT trace_id, span_id FROM spans ORDER BY ALL").fetchall(),
        "one_trace_spans": {trace_id: one_trace_spans(connection, trace_id) for trace_id in ids},
        "spans_by_trace": {trace_id: one_trace_spans(connection, trace_id, bounded=False) for trace_id in ids},
        # The trace page's one read of the index: the same row as traces_by_id, a window that
        # loses no span.
        "trace_and_window": {trace_id: search.trace_and_window(connection, trace_id)[0] for trace_id in ids},
        "windows_agree": all(
            search.trace_and_window(connection, trace_id)[1] == search.trace_windows(connection, [trace_id])[trace_id]
            for trace_id in ids
        ),
        "one_trace_spans_in_read_window": {
            trace_id: one_trace_spans(connection, trace_id, window=search.trace_and_window(connection, trace_id)[1])
            for trace_id in ids
        },
        "span_types": span_types(connection),
        # A page of traces' costs reads only the files of their time (search.spans_since).
        "costs": trace_costs(connection, _PRICES, ids),
        "newest_costs": trace_costs(connection, _PRICES, ids[-2:]),
        "current": connection.execute(
            "SELECT trace_id, name, value FROM current_assessments ORDER BY ALL"
        ).fetchall(),
        "log": connection.execute("SELECT assessment_id, action FROM assessment_log ORDER BY ALL").fetchall(),
    }


_PRICES = load_price_table(None, environ={})


def one_trace_spans(
    connection: duckdb.DuckDBPyConnection,
    trace_id: str,
    *,
    bounded: bool = True,
    window: tuple[int, int] | None = None,
) -> list[tuple[Any, ...]]:
    """The spans of one trace as the trace page reads them (``bounded`` in start time, by the
    ``window`` given or else the one the index knows), or by id alone."""
    source, where, params = (
        search.one_trace_spans(connection, trace_id, window) if bounded else ("spans", "trace_id = ?", [trace_id])
    )
    return connection.execute(
        f"SELECT span_id, parent_span_id, name, input, output FROM {source} WHERE {where} ORDER BY span_id", params
    ).fetchall()


def collector_reads(store: SpanStore) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reads through ``store.connect()`` and through ``store.reading()`` (once the live
    span files' trace numbers are known: one-trace reads then open only the trace's files)."""
    with store.reading():  # a new manifest starts learning them
        pass
    assert file_traces.wait_warmed(60)
    connection = store.connect()
    try:
        connected = reads(connection)
    finally:
        connection.close()
    with store.reading() as pooled:
        read = reads(pooled)
    return connected, read


def parquet_reads(data_dir: Path) -> dict[str, Any]:
    """The reads through the Parquet-only connection (what ``otel-feedback sql`` uses)."""
    connection = parquet_connect(data_dir)
    try:
        return reads(connection)
    finally:
        connection.close()
