"""An evaluation's result: per-row outcomes, the table of rows and the metrics.

``EvaluationResult.rows`` has a column per score (``<name>/value``...), convenient in memory; on
disk a run has one schema whatever its scorers (_run_files.py). docs/evaluation.md documents
both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from otel_feedback.tables import typed_array
from otel_feedback_core.assessments import Assessment

_PASS = "yes"
_FAIL = "no"


@dataclass(frozen=True)
class RowOutcome:
    """What happened to one row: the outputs judged, the trace judged, and the assessments."""

    index: int
    inputs: Any
    outputs: Any
    expectations: dict[str, Any]
    trace_id: str | None
    source_trace_id: str | None
    predict_error: str | None
    assessments: list[Assessment] = field(default_factory=list)


@dataclass(frozen=True)
class EvaluationResult:
    """The result of ``evaluate``.

    - ``run_id``: the run's id (feedback logged by the run carries it in its metadata);
    - ``metrics``: ``{"<name>/pass_rate": ...}`` for yes/no and boolean scores,
      ``{"<name>/mean": ...}`` for numbers, and ``"<name>/error_count"`` for every name;
    - ``rows``: a pyarrow table, one row per data row (see docs/evaluation.md);
    - ``path``: the run's folder ``<data_dir>/evaluations/run_id=<run_id>/``, when it was written.
    """

    run_id: str
    run_name: str | None
    metrics: dict[str, float]
    rows: pa.Table
    path: Path | None = None


def assessment_names(outcomes: Sequence[RowOutcome]) -> list[str]:
    """Every assessment name in the outcomes, in first-seen order (scorer order)."""
    names: dict[str, None] = {}
    for outcome in outcomes:
        for assessment in outcome.assessments:
            names.setdefault(assessment.name, None)
    return list(names)


def compute_metrics(outcomes: Sequence[RowOutcome]) -> dict[str, float]:
    """Per assessment name: pass rate (yes/no, booleans) or mean (numbers), and the error count."""
    metrics: dict[str, float] = {}
    for name in assessment_names(outcomes):
        values: list[Any] = []
        errors = 0
        for outcome in outcomes:
            for assessment in outcome.assessments:
                if assessment.name != name:
                    continue
                if assessment.error is not None:
                    errors += 1
                else:
                    values.append(assessment.value)
        if values and all(isinstance(v, bool) or v in (_PASS, _FAIL) for v in values):
            metrics[f"{name}/pass_rate"] = sum(1 for v in values if v is True or v == _PASS) / len(values)
        elif values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            metrics[f"{name}/mean"] = sum(values) / len(values)
        metrics[f"{name}/error_count"] = float(errors)
    return metrics


def rows_table(outcomes: Sequence[RowOutcome]) -> pa.Table:
    """One row per data row: ids, inputs, outputs, expectations, and per name value/rationale/error."""
    columns: dict[str, pa.Array] = {
        "row": pa.array([o.index for o in outcomes], type=pa.int64()),
        "trace_id": pa.array([o.trace_id for o in outcomes], type=pa.string()),
        "source_trace_id": pa.array([o.source_trace_id for o in outcomes], type=pa.string()),
        "inputs": _values([o.inputs for o in outcomes]),
        "outputs": _values([o.outputs for o in outcomes]),
        "expectations": _values([o.expectations or None for o in outcomes]),
        "predict_error": pa.array([o.predict_error for o in outcomes], type=pa.string()),
    }
    for name in assessment_names(outcomes):
        found = [next((a for a in o.assessments if a.name == name), None) for o in outcomes]
        columns[f"{name}/value"] = _values([a.value if a is not None else None for a in found])
        columns[f"{name}/rationale"] = pa.array([a.rationale if a else None for a in found], type=pa.string())
        columns[f"{name}/error"] = pa.array([a.error if a else None for a in found], type=pa.string())
    return pa.table(columns)


def _values(values: list[Any]) -> pa.Array:
    if not values or all(value is None for value in values):
        return pa.array(values, type=pa.string())
    return typed_array(values)
