"""``search_traces``: find traces with their request, response and assessments, as a table.

Two ways to read, one result shape:

* **collector** — after ``configure(endpoint)``, the collector's REST API answers
  (``POST /api/v1/traces/search``); this needs nothing beyond the SDK for ``return_type="list"``;
* **files** — with ``data_dir=`` (or ``OTEL_FEEDBACK_DATA`` when no collector endpoint is
  configured) the Parquet files are read directly with DuckDB; no collector needs to run, but its
  package must be installed (the ``collector`` extra): the reader is the collector's, found by
  entry point (``otel_feedback._extras``), so the SDK never imports it.

The table has one row per trace: the ``traces`` view columns, ``request`` / ``response`` (the
root span's input and output, JSON-decoded where possible) and one ``assessments.<name>``
column per assessment name, so it can be handed to ``evaluate`` as it is. ``sql=`` runs a
read-only SELECT over the same views instead (files only).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Union

from otel_feedback import _client, _extras
from otel_feedback._config import settings
from otel_feedback.tables import trace_records, traces_table, typed_array
from otel_feedback_core.layout import DATA_DIR_ENV

ReturnType = Literal["pyarrow", "pandas", "list"]
DataDirs = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]
"""One data directory, or several (several collectors') read as one."""
_RETURN_TYPES = ("pyarrow", "pandas", "list")
_PAGE_SIZE = 1000


def search_traces(
    *,
    filter: str | None = None,  # noqa: A002 - the name users know from the tutorial
    max_results: int = 100,
    order_by: str | Sequence[str] | None = None,
    experiment: str | None = None,
    sql: str | None = None,
    data_dir: DataDirs | None = None,
    return_type: ReturnType = "pyarrow",
    labeling_session: Any = None,
) -> Any:
    """Return traces matching ``filter`` as a table (pyarrow by default), newest first.

    - ``filter``: e.g. ``"assessments.user_feedback = false AND span_type = 'LLM'"``
      (docs/search.md has the language); ``order_by``: e.g. ``"duration_ms DESC"``;
      ``experiment``: only traces of that experiment; ``max_results``: how many rows at most.
    - ``data_dir``: read this data directory's files directly; without it, the configured
      collector is asked, or ``OTEL_FEEDBACK_DATA`` is read when no collector is configured.
      A list of directories (several collectors', docs/scaling.md) is read as one: a trace
      split across them is one row, each span and assessment counted once.
    - ``sql``: run this read-only SELECT over the views (``spans``, ``traces``,
      ``assessments``, ``assessment_log``) instead; files only.
    - ``labeling_session``: a ``LabelingSession`` (or its id): that session's traces, in session
      order, with a ``labels`` column (each reviewer's answers: name, value — text, or JSON text for
      other values —, source_id, comment);
      asks the configured collector.
    - ``return_type``: ``"pyarrow"`` (a ``pyarrow.Table``; needs pyarrow), ``"pandas"`` (needs
      pandas and pyarrow) or ``"list"`` (a list of dicts; needs nothing more).

    Bad filters raise ``ValueError``; an unreachable collector raises ``CollectorUnavailable``.
    """
    if return_type not in _RETURN_TYPES:
        raise ValueError(f"return_type must be one of {', '.join(_RETURN_TYPES)}; got {return_type!r}")
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise ValueError(f"max_results must be a positive integer; got {max_results!r}")
    if labeling_session is not None:
        if filter is not None or sql is not None or experiment is not None or data_dir is not None:
            raise ValueError("labeling_session= is not combined with filter, sql, experiment or data_dir; pass it alone")
        rows, labels = _session_traces(labeling_session)
        return _with_labels(rows[:max_results], labels, return_type)
    directory = _data_dir(data_dir, needs_files=sql is not None)
    if sql is not None:
        if filter is not None or order_by is not None or experiment is not None:
            raise ValueError("sql= replaces filter/order_by/experiment: pass either sql or those, not both")
        # The query runs where it can read the views' files and nothing else.
        table = _extras.data_files("search_traces(sql=...)").run_select(directory, sql)
        return table.to_pylist() if return_type == "list" else _convert(table, return_type)
    options = {"filter": filter, "order_by": order_by, "experiment": experiment}
    if directory is not None:
        reader = _extras.data_files("search_traces(data_dir=...)")
        rows = reader.find_trace_rows(directory, max_results=max_results, **options)
    else:
        rows = _remote_rows(max_results=max_results, **options)
    if return_type == "list":
        return trace_records(rows)
    return _convert(traces_table(rows), return_type)


def _data_dir(data_dir: DataDirs | None, *, needs_files: bool) -> Path | list[Path] | None:
    if isinstance(data_dir, (str, os.PathLike)):
        return Path(data_dir)
    if data_dir is not None:
        directories = [Path(entry) for entry in data_dir]
        if not directories:
            raise ValueError("data_dir= is an empty list: name at least one data directory")
        return directories
    from_env = os.environ.get(DATA_DIR_ENV)
    if settings.endpoint and not needs_files:
        return None
    if from_env:
        return Path(from_env)
    if needs_files:
        raise ValueError(
            f"sql= reads the data files directly: pass data_dir= (or set {DATA_DIR_ENV}) to the collector's data directory"
        )
    raise ValueError(
        "search_traces needs a place to read from: call otel_feedback.configure('http://127.0.0.1:4318') to ask "
        f"a collector, or pass data_dir= (or set {DATA_DIR_ENV}) to read its data directory directly"
    )


def _remote_rows(*, max_results: int, **options: Any) -> list[dict[str, Any]]:
    if options.get("order_by") is not None and not isinstance(options["order_by"], str):
        options["order_by"] = ", ".join(options["order_by"])
    body = {key: value for key, value in options.items() if value is not None}
    rows: list[dict[str, Any]] = []
    token: str | None = None
    while len(rows) < max_results:
        answer = _client.request_json(
            "POST",
            "/traces/search",
            body={**body, "max_results": min(_PAGE_SIZE, max_results - len(rows)), "page_token": token},
        )
        rows.extend(answer.get("traces") or [])
        token = answer.get("next_page_token")
        if not token:
            break
    return rows


def _session_traces(session: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(trace rows, labels)`` of a labeling session (a ``LabelingSession`` or its id), from the collector."""
    session_id = getattr(session, "id", session)
    answer = _client.request_json("GET", f"/labeling-sessions/{_client.quote_segment(session_id)}/traces")
    return list(answer["traces"]), list(answer["labels"])


def _with_labels(rows: list[dict[str, Any]], labels: list[dict[str, Any]], return_type: str) -> Any:
    """The session's traces with their labels as a ``labels`` column (each reviewer's answers)."""
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for label in labels:
        value = label["value"]
        # One Arrow type for every value: text as it is, anything else as its JSON text.
        entry = {"name": label["name"], "value": value if isinstance(value, str) else json.dumps(value),
                 "source_id": label["source_id"], "comment": label["comment"]}
        by_trace.setdefault(label["trace_id"], []).append(entry)
    session_labels = [by_trace.get(row["trace_id"], []) for row in rows]
    if return_type == "list":
        return [{**record, "labels": row_labels} for record, row_labels in zip(trace_records(rows), session_labels)]
    table = traces_table(rows)
    return _convert(table.append_column("labels", typed_array(session_labels)), return_type)


def _convert(table: Any, return_type: str) -> Any:
    if return_type == "pyarrow":
        return table
    try:
        import pandas  # noqa: F401
    except ImportError:
        raise ImportError(
            "return_type='pandas' needs pandas, which otel-feedback does not install: `pip install pandas`, "
            "or use return_type='pyarrow' or 'list'"
        ) from None
    return table.to_pandas()
