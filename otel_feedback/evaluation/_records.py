"""Turning whatever ``evaluate`` is given into a list of ``EvalRecord``.

Accepted shapes, each mapped to inputs / outputs / expectations / trace id:

* the table ``search_traces`` returns (pyarrow, pandas or a list of its rows): ``request`` is
  the inputs, ``response`` the outputs, ``assessments.<name>`` columns that are expectations
  (by their stored type when the data directory is known, else ``expected_*`` and
  ``guidelines``) the expectations, ``trace_id`` the trace;
* dicts (or a pandas / Polars DataFrame, or a pyarrow table) with ``inputs``, optional
  ``outputs``, ``expectations`` and ``trace_id`` (``source_trace_id`` from a dataset);
* a data directory, or a path / glob of span Parquet files (read directly, no collector);
* an ``EvaluationDataset``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from otel_feedback_core.json_text import decode_json_text
from otel_feedback.evaluation import _trace_files

ASSESSMENT_PREFIX = "assessments."


@dataclass(frozen=True)
class EvalRecord:
    """One row to evaluate."""

    inputs: Any
    outputs: Any = None
    expectations: dict[str, Any] = field(default_factory=dict)
    trace_id: str | None = None


@dataclass(frozen=True)
class EvalData:
    """The records, and where their traces' spans can be read when a scorer needs them."""

    records: list[EvalRecord]
    stored_spans: _trace_files.StoredSpans | None


def load_eval_data(data: Any, *, data_dir: str | os.PathLike[str] | None) -> EvalData:
    """Normalise ``data`` (see the module docstring); raise ``ValueError`` for shapes we do not know."""
    if callable(getattr(data, "to_eval_records", None)):  # an EvaluationDataset (_datasets imports us)
        return EvalData(records=data.to_eval_records(), stored_spans=_stored(data_dir))
    if isinstance(data, (str, os.PathLike)) or (isinstance(data, (list, tuple)) and _trace_files.is_data_dir(data)):
        return _from_path(data, data_dir=data_dir)
    rows = table_rows(data)
    names = _expectation_names(rows, data_dir)
    return EvalData(records=[record_from_row(row, expectation_names=names) for row in rows], stored_spans=_stored(data_dir))


def table_rows(data: Any) -> list[dict[str, Any]]:
    """Rows as dicts from a list of dicts, a pyarrow Table, or a pandas / Polars DataFrame."""
    if isinstance(data, Mapping):
        raise ValueError("data must be many rows (a list of dicts, a table or a DataFrame), not one dict: wrap it in a list")
    module = type(data).__module__.split(".")[0]
    if module == "pyarrow" and hasattr(data, "to_pylist"):
        return [dict(row) for row in data.to_pylist()]
    if module == "pandas" and hasattr(data, "to_dict"):
        return [{key: _no_nan(value) for key, value in row.items()} for row in data.to_dict(orient="records")]
    if module == "polars" and hasattr(data, "to_dicts"):
        return [dict(row) for row in data.to_dicts()]
    if isinstance(data, Iterable) and not isinstance(data, (str, bytes)):
        rows = list(data)
        for index, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise ValueError(f"data row {index} is a {type(row).__name__}; each row must be a dict")
        return [dict(row) for row in rows]
    raise ValueError(
        f"evaluate cannot read data of type {type(data).__name__}: pass search_traces(...) results, a list of dicts "
        "with 'inputs', a DataFrame, a data directory or Parquet glob, or an evaluation dataset"
    )


def record_from_row(row: Mapping[str, Any], *, expectation_names: set[str] | None = None) -> EvalRecord:
    """One record from a row of either shape (``inputs``/... or ``request``/``response``/...)."""
    if "inputs" in row:
        inputs = decode_json_text(row["inputs"])
        outputs = decode_json_text(row.get("outputs"))
    elif "request" in row:
        inputs = row["request"]
        outputs = row.get("response")
    else:
        raise ValueError(f"a data row needs 'inputs' (or 'request', as search_traces gives); it has {sorted(row)}")
    expectations = decode_json_text(row.get("expectations")) or {}
    if not isinstance(expectations, Mapping):
        raise ValueError(f"'expectations' must be a dict of name -> value; got {type(expectations).__name__}")
    expectations = dict(expectations)
    expectations.update(_expectations_from_assessments(row, expectation_names))
    trace_id = row.get("trace_id") or row.get("source_trace_id")
    return EvalRecord(inputs=inputs, outputs=outputs, expectations=expectations, trace_id=trace_id or None)


def _expectations_from_assessments(row: Mapping[str, Any], names: set[str] | None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    nested = row.get("assessments")
    items = list(nested.items()) if isinstance(nested, Mapping) else []
    items += [(key[len(ASSESSMENT_PREFIX):], value) for key, value in row.items() if key.startswith(ASSESSMENT_PREFIX)]
    for name, value in items:
        if value is None:
            continue
        if (name in names) if names is not None else _trace_files.looks_like_expectation(name):
            found[name] = value
    return found


def _expectation_names(rows: list[dict[str, Any]], data_dir: str | os.PathLike[str] | None) -> set[str] | None:
    has_assessments = any("assessments" in row or any(k.startswith(ASSESSMENT_PREFIX) for k in row) for row in rows[:1])
    if not has_assessments or data_dir is None or not _trace_files.is_data_dir(data_dir):
        return None
    return _trace_files.expectation_names(data_dir)


def _from_path(path: Any, *, data_dir: Any) -> EvalData:
    """A data directory, a list of them (read as one), or a path or glob of span files."""
    if _trace_files.is_data_dir(path):
        from otel_feedback._search import search_traces

        rows = search_traces(data_dir=path, max_results=10**9, order_by="start_time ASC", return_type="list")
        names = _trace_files.expectation_names(path)
        records = [record_from_row(row, expectation_names=names) for row in rows]
        return EvalData(records=records, stored_spans=_trace_files.StoredSpans(data_dir=path))
    files = _trace_files.span_file_paths(path)
    rows = _trace_files.root_rows_from_span_files(files)
    return EvalData(records=[record_from_row(row) for row in rows], stored_spans=_trace_files.StoredSpans(span_files=files))


def _stored(data_dir: str | os.PathLike[str] | None) -> _trace_files.StoredSpans | None:
    if data_dir is None or not _trace_files.is_data_dir(data_dir):
        return None
    return _trace_files.StoredSpans(data_dir=data_dir)


def _no_nan(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value
