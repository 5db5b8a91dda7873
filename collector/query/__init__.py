"""Searching traces: the filter language, ordering and paging over the storage views.

``search_traces(connection, filter=..., ...)`` returns a pyarrow table with one row per trace
(the ``traces`` view's columns, the root's ``request``/``response`` and one
``assessments.<name>`` column per assessment name) and the next page token. ``find_traces``
gives the same page as Python rows for the REST API (``api.encoding.summary_to_json`` makes them JSON).
docs/search.md documents the filter language.
"""

from __future__ import annotations

from otel_feedback_collector.query.errors import FilterError
from otel_feedback_collector.query.readonly_sql import check_single_select, run_readonly_select
from otel_feedback_collector.query.sandbox import connect_for_user_sql
from otel_feedback_collector.query.search import MAX_RESULTS_LIMIT, TracePage, find_traces, search_traces, trace_rows

__all__ = [
    "MAX_RESULTS_LIMIT",
    "FilterError",
    "TracePage",
    "check_single_select",
    "connect_for_user_sql",
    "find_traces",
    "run_readonly_select",
    "search_traces",
    "trace_rows",
]
