"""``insight_routes``: an experiment's sessions, one conversation, and its charts.

::

    GET /experiments/{name}/sessions                   sessions: turns, first question, feedback
    GET /experiments/{name}/conversation?session=ID    one session's turns in order
    GET /experiments/{name}/charts                     traces, feedback, latency, tokens, cost

They sit before ``/experiments/{name}`` (the traces table), whose name may contain slashes.
A session id travels in the query string: it may contain a slash too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import duckdb

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from otel_feedback_collector.api.store_access import ApiStore
from otel_feedback_collector.pricing import PriceTable, format_cost
from otel_feedback_collector.storage.schema import PREVIEW_CHARS
from otel_feedback_collector.ui.chart_queries import ChartData, chart_data
from otel_feedback_collector.ui.charts import LineChart, line_chart
from otel_feedback_collector.ui.cost_queries import trace_costs
from otel_feedback_collector.ui.queries import root_values
from otel_feedback_collector.ui.readable import readable_text, request_and_response
from otel_feedback_collector.ui.rendering import render_page
from otel_feedback_collector.ui.session_queries import (
    MAX_TURNS,
    SESSIONS_PER_PAGE,
    SessionSummary,
    conversation_turns,
    session_page,
    turn_assessments,
)
from otel_feedback_collector.ui.trace_table import format_duration


def insight_routes(store: ApiStore, prices: PriceTable) -> Sequence[BaseRoute]:
    """The sessions, conversation and charts pages over ``store``."""

    async def sessions_page(request: Request) -> Response:
        experiment = request.path_params["name"]
        page = _page_number(request.query_params.get("page", ""))
        sessions, total = await run_in_threadpool(lambda: store.read(lambda c: _sessions(c, experiment, page)))
        return render_page(
            "sessions.html", experiment=experiment, sessions=sessions, total=total, page=page,
            per_page=SESSIONS_PER_PAGE, tab="sessions",
        )

    async def conversation_page(request: Request) -> Response:
        experiment = request.path_params["name"]
        session_id = request.query_params.get("session", "")
        turns = await run_in_threadpool(
            lambda: store.read(lambda c: _conversation(c, prices, experiment, session_id))
        ) if session_id else []
        if not turns:
            message = (
                f"Experiment {experiment!r} has no session {session_id!r}; pick one from its sessions page."
                if session_id else "Say which session to show: open it from the experiment's sessions page."
            )
            return render_page("not_found.html", status_code=404, message=message)
        return render_page(
            "conversation.html", experiment=experiment, session_id=session_id, turns=turns,
            capped=len(turns) >= MAX_TURNS, max_turns=MAX_TURNS, tab="sessions",
        )

    async def charts_page(request: Request) -> Response:
        experiment = request.path_params["name"]
        data = await run_in_threadpool(lambda: store.read(lambda c: chart_data(c, experiment, prices)))
        return render_page(
            "charts.html", experiment=experiment, charts=experiment_charts(data) if data else [],
            unit=data.unit if data else "", tab="charts",
        )

    return [
        Route("/experiments/{name:path}/sessions", sessions_page, methods=["GET"], name="ui_sessions"),
        Route("/experiments/{name:path}/conversation", conversation_page, methods=["GET"], name="ui_conversation"),
        Route("/experiments/{name:path}/charts", charts_page, methods=["GET"], name="ui_charts"),
    ]


def _page_number(raw: str) -> int:
    return int(raw) if raw.isdigit() and len(raw) < 7 else 0


def _sessions(
    connection: duckdb.DuckDBPyConnection, experiment: str, page: int
) -> tuple[list[SessionSummary], int]:
    """One page of sessions, each with its first question as readable text."""
    sessions, total = session_page(connection, experiment, page=page)
    firsts = root_values(connection, [
        summary.first_trace_id for summary in sessions if len(summary.first_preview or "") >= PREVIEW_CHARS
    ])
    for summary in sessions:
        request = firsts.get(summary.first_trace_id, (None, None))[0]
        summary.first_question = readable_text(request if request is not None else summary.first_preview)
    return sessions, total


def _conversation(
    connection: duckdb.DuckDBPyConnection, prices: PriceTable, experiment: str, session_id: str
) -> list[dict[str, Any]]:
    """The session's turns with readable texts, cost and current assessments."""
    turns = conversation_turns(connection, experiment, session_id)
    ids = [turn["trace_id"] for turn in turns]
    values = root_values(connection, ids)
    assessments = turn_assessments(connection, ids)
    costs = trace_costs(connection, prices, ids)
    for turn in turns:
        turn["question"], turn["answer"] = request_and_response(turn, values)
        turn["cost"] = costs.get(turn["trace_id"])
        turn["assessments"] = [
            {**row, "parsed": _json_value(row["value"])} for row in assessments.get(turn["trace_id"], [])
        ]
    return turns


def _json_value(text: str | None) -> Any:
    try:
        return json.loads(text) if text is not None else None
    except ValueError:
        return text


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def _count(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def experiment_charts(data: ChartData) -> list[LineChart]:
    """The experiment page's charts from its series."""
    per = data.unit
    labels = [bucket.strftime("%m-%d %H:00" if per == "hour" else "%Y-%m-%d") for bucket in data.buckets]
    charts = [
        line_chart(chart_id="chart-traces", title=f"Traces per {per}", labels=labels,
                   series={"traces": data.traces}, formatter=_count),
        line_chart(chart_id="chart-latency", title=f"Latency per {per} (p50, p95)", labels=labels,
                   series={"p50": data.latency_p50, "p95": data.latency_p95}, formatter=format_duration),
        line_chart(chart_id="chart-tokens", title=f"Tokens per {per}", labels=labels,
                   series={"input": data.input_tokens, "output": data.output_tokens}, formatter=_count),
        line_chart(chart_id="chart-cost", title=f"Cost per {per} (US dollars)", labels=labels,
                   series={"cost": data.cost}, formatter=lambda value: format_cost(value) or "$0"),
    ]
    if data.feedback:
        charts.insert(1, line_chart(
            chart_id="chart-feedback", title=f"Feedback per {per}: share of thumbs-up (true)", labels=labels,
            series=data.feedback, formatter=_percent, top_value=1.0,
        ))
    return charts
