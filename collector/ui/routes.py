"""``ui_routes``: the web UI's pages and the small JSON endpoints its scripts call.

::

    GET /                                        experiments (by experiment, else service name)
    GET /experiments/{name}                      the traces table of one experiment
    GET /experiments/{name}/sessions|conversation|charts   see insight_pages.py
    GET /traces/{trace_id}                       the trace view (tree, details, assessments)
    GET /ui/api/traces/{trace_id}/spans          compact span list for the waterfall
    GET /ui/api/traces/{trace_id}/spans/{span_id}  one span with everything (on selection) and its cost
    GET /ui/api/traces/{trace_id}/span-search?q=   ids of the spans whose name, type, input or output has q
    GET /ui/api/assessment-names                 names already used, each with its usual value type
    GET /ui/static/...                           CSS, JavaScript and the icon
    GET /favicon.ico                             the icon (static/favicon.svg), for clients that ask there

Writes go through the REST API (``/api/v1``). Each request opens its own DuckDB connection
(``store.connect()``) in a worker thread, so new traces show up on reload.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from otel_feedback_collector.api.encoding import JsonResponse
from otel_feedback_collector.api.errors import ApiError, api_endpoint
from otel_feedback_collector.api.queries import experiment_list
from otel_feedback_collector.api.store_access import ApiStore, unknown_trace_message
from otel_feedback_collector.api.trace_json import span_to_json
from otel_feedback_collector.query import FilterError, find_traces, trace_rows
from otel_feedback_collector.pricing import PriceTable, format_cost, load_price_table
from otel_feedback_collector.ui.cost_queries import span_cost, trace_costs
from otel_feedback_collector.ui.insight_pages import insight_routes
from otel_feedback_collector.ui.queries import (
    assessment_names,
    assessment_notes,
    assessment_value_types,
    compact_spans,
    root_values,
    span_row,
    span_search,
    span_types,
    traces_matching_text,
)
from otel_feedback_collector.ui.readable import cut_previews, request_and_response
from otel_feedback_collector.ui.rendering import STATIC_DIR, STATIC_PATH, render_page
from otel_feedback_core.ids import is_span_id, is_trace_id
from otel_feedback_collector.ui.trace_table import (
    SORTABLE_COLUMNS,
    STATUSES,
    TEXT_MATCH_LIMIT,
    TableControls,
    assessment_columns,
    table_filter,
)

if TYPE_CHECKING:
    from otel_feedback_collector.app_context import AppContext


NO_TRACES_HINT = (
    "No traces yet: run `otel-feedback demo` to see the tutorial's traces, or point your app's "
    "OTEL_EXPORTER_OTLP_ENDPOINT here."
)


def ui_routes(context: AppContext) -> Sequence[BaseRoute]:
    """The UI's routes over ``context.store``."""
    store = ApiStore(context.store)
    prices = context.prices if context.prices is not None else load_price_table()

    async def experiments_page(_request: Request) -> Response:
        rows = await run_in_threadpool(lambda: store.read(experiment_list))
        return render_page("experiments.html", experiments=rows, hint=NO_TRACES_HINT)

    async def traces_page(request: Request) -> Response:
        experiment = request.path_params["name"]
        controls = TableControls.from_query(request.query_params)
        page = await run_in_threadpool(lambda: _traces_table(store, prices, experiment, controls))
        return render_page(
            "traces.html",
            status_code=400 if page["error"] else 200,
            experiment=experiment,
            controls=controls,
            sortable=SORTABLE_COLUMNS,
            statuses=STATUSES,
            hint=NO_TRACES_HINT,
            **page,
        )

    async def trace_page(request: Request) -> Response:
        trace_id = request.path_params["trace_id"].lower()
        summary = None
        if is_trace_id(trace_id):
            summary = await run_in_threadpool(lambda: _trace_summary(store, prices, trace_id))
        if summary is None:
            message = (
                unknown_trace_message(trace_id) if is_trace_id(trace_id)
                else "A trace id is 32 hexadecimal characters; copy it from the traces table."
            )
            return render_page("not_found.html", status_code=404, message=message)
        return render_page("trace.html", trace=summary)

    @api_endpoint
    async def spans_json(request: Request) -> Response:
        trace_id = _checked_id(request.path_params["trace_id"], is_trace_id, "trace")
        found = await run_in_threadpool(lambda: _found_after_flush(store, lambda c: compact_spans(c, trace_id)))
        if found is None:
            raise ApiError(404, unknown_trace_message(trace_id))
        return JsonResponse(found)

    @api_endpoint
    async def span_json(request: Request) -> Response:
        trace_id = _checked_id(request.path_params["trace_id"], is_trace_id, "trace")
        span_id = _checked_id(request.path_params["span_id"], is_span_id, "span")
        row = await run_in_threadpool(lambda: store.read(lambda c: span_row(c, trace_id, span_id)))
        if row is None:
            raise ApiError(404, f"Trace {trace_id} has no span {span_id}; reload the trace view.")
        cost = span_cost(prices, row)
        return JsonResponse({"span": span_to_json(row), "cost": cost, "cost_text": format_cost(cost)})

    @api_endpoint
    async def span_search_json(request: Request) -> Response:
        trace_id = _checked_id(request.path_params["trace_id"], is_trace_id, "trace")
        text = request.query_params.get("q", "").strip()
        if not text:
            raise ApiError(400, "Give the text to look for as ?q=TEXT.")
        ids = await run_in_threadpool(lambda: store.read(lambda c: span_search(c, trace_id, text)))
        return JsonResponse({"span_ids": ids})

    @api_endpoint
    async def names_json(_request: Request) -> Response:
        names, value_types = await run_in_threadpool(
            lambda: store.read(lambda c: (assessment_names(c), assessment_value_types(c))))
        return JsonResponse({"names": names, "value_types": value_types})

    return [
        Route("/", experiments_page, methods=["GET"], name="ui_experiments"),
        *insight_routes(store, prices),  # before the traces table, whose name may hold a slash
        Route("/experiments/{name:path}", traces_page, methods=["GET"], name="ui_traces"),
        Route("/traces/{trace_id}", trace_page, methods=["GET"], name="ui_trace"),
        Route("/ui/api/traces/{trace_id}/spans", spans_json, methods=["GET"], name="ui_spans"),
        Route("/ui/api/traces/{trace_id}/span-search", span_search_json, methods=["GET"], name="ui_span_search"),
        Route("/ui/api/traces/{trace_id}/spans/{span_id}", span_json, methods=["GET"], name="ui_span"),
        Route("/ui/api/assessment-names", names_json, methods=["GET"], name="ui_assessment_names"),
        Route("/favicon.ico", favicon, methods=["GET"], name="ui_favicon"),
        Mount(STATIC_PATH, app=StaticFiles(directory=STATIC_DIR), name="ui_static"),
    ]


async def favicon(_request: Request) -> Response:
    """The icon at the path browsers and feed readers try first (pages link the SVG itself)."""
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")


def _traces_table(store: ApiStore, prices: PriceTable, experiment: str, controls: TableControls) -> dict[str, Any]:
    """Everything the traces table renders (rows, columns, notes, next page, error)."""
    result: dict[str, Any] = {
        "rows": [], "columns": [], "notes": {}, "next_page_token": None, "error": None,
        "span_types": [], "names": [], "text_capped": False, "any_traces": True,
    }

    # One read, run again as a whole if a compaction moves a file under it (store.read).
    def read(connection: duckdb.DuckDBPyConnection) -> None:
        result["span_types"] = span_types(connection)
        result["names"] = assessment_names(connection)
        try:
            matches = None
            if controls.text:
                matches = traces_matching_text(
                    connection, controls.text, experiment=experiment, limit=TEXT_MATCH_LIMIT + 1
                )
                result["text_capped"] = len(matches) > TEXT_MATCH_LIMIT
                matches = matches[:TEXT_MATCH_LIMIT]
            page = find_traces(
                connection,
                filter=table_filter(controls, text_matches=matches) or None,
                experiment=experiment,
                order_by=controls.order_by,
                max_results=controls.page_size,
                page_token=controls.page_token,
                include_bodies=False,
            )
        except (FilterError, ValueError) as exc:
            result["error"] = str(exc)
            return
        ids = [row["trace_id"] for row in page.rows]
        values = root_values(connection, cut_previews(page.rows))
        costs = trace_costs(connection, prices, ids)
        for row in page.rows:
            row["request_text"], row["response_text"] = request_and_response(row, values)
            row["cost"] = costs.get(row["trace_id"])
        result["rows"] = page.rows
        result["notes"] = notes = assessment_notes(connection, ids)
        expectations = {name for (_, name), note in notes.items() if note.type == "expectation"}
        result["columns"] = assessment_columns(page.rows, expectations)
        result["next_page_token"] = page.next_page_token
        if not page.rows:
            result["any_traces"] = bool(
                connection.execute("SELECT 1 FROM traces WHERE experiment = ? LIMIT 1", [experiment]).fetchall()
            )

    store.read(read)
    return result


def _trace_summary(store: ApiStore, prices: PriceTable, trace_id: str) -> dict[str, Any] | None:
    rows = _found_after_flush(store, lambda c: trace_rows(c, [trace_id], include_bodies=False) or None)
    if not rows:
        return None
    summary = rows[0]
    summary["cost"] = store.read(lambda c: trace_costs(c, prices, [trace_id])).get(trace_id)
    return summary


_T = TypeVar("_T")


def _found_after_flush(store: ApiStore, query: Callable[[duckdb.DuckDBPyConnection], _T | None]) -> _T | None:
    """``query``'s answer; on a miss, flush acknowledged spans into Parquet once and ask again."""
    found = store.read(query)
    if found is None and store.flush():
        found = store.read(query)
    return found


def _checked_id(raw: str, is_valid: Callable[[str], bool], kind: str) -> str:
    value = raw.lower()
    if not is_valid(value):
        length = 32 if kind == "trace" else 16
        raise ApiError(400, f"A {kind} id is {length} hexadecimal characters; got {raw!r}.")
    return value
