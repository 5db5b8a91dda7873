"""A run's files on disk: ``<data_dir>/evaluations/run_id=<id>/`` with one schema for every run.

Three files, each with the same columns whatever the scorers, so every engine reads all runs of
a kind as one table and takes ``run_id`` from the folder name (Hive style)::

    evaluations/run_id=<id>/rows.parquet     one row per evaluated row (inputs, outputs... as JSON text)
    evaluations/run_id=<id>/scores.parquet   one row per evaluated row and score (long format)
    evaluations/run_id=<id>/run.parquet      one row: name, time, scorers, metrics (written last)

The run id is not a column in the files: it is the folder's ``run_id=`` value (engines that
read Hive partitions add it; a column of the same name would clash with it). Versions before
wrote ``evaluations/<id>/`` with per-scorer columns; readers take both (the collector's
``evaluation_files``). docs/evaluation.md documents the columns.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from otel_feedback.evaluation._files import write_parquet_atomically
from otel_feedback.evaluation._results import RowOutcome
from otel_feedback_core.assessments import score_label
from otel_feedback_core.layout import EVALUATIONS_DIR, ROWS_FILE, RUN_FILE, SCORES_FILE, run_folder_name

UTC_MICROS = pa.timestamp("us", tz="UTC")
RUN_SCHEMA = pa.schema(
    [
        pa.field("run_name", pa.string()),
        pa.field("experiment", pa.string()),
        pa.field("created_time", UTC_MICROS),
        pa.field("duration_ms", pa.float64()),
        pa.field("row_count", pa.int64()),
        pa.field("scorers", pa.list_(pa.string())),
        pa.field("predict_fn", pa.string()),
        pa.field("metrics", pa.string()),
    ]
)
ROWS_SCHEMA = pa.schema(
    [
        pa.field("row", pa.int64()),
        pa.field("trace_id", pa.string()),
        pa.field("source_trace_id", pa.string()),
        pa.field("inputs", pa.string()),
        pa.field("outputs", pa.string()),
        pa.field("expectations", pa.string()),
        pa.field("predict_error", pa.string()),
    ]
)
SCORES_SCHEMA = pa.schema(
    [
        pa.field("row", pa.int64()),
        pa.field("name", pa.string()),
        pa.field("value", pa.string()),
        pa.field("score_value", pa.float64()),
        pa.field("score_label", pa.string()),
        pa.field("rationale", pa.string()),
        pa.field("error", pa.string()),
        pa.field("source_type", pa.string()),
        pa.field("source_id", pa.string()),
        pa.field("metadata", pa.string()),
        pa.field("created_time", UTC_MICROS),
    ]
)


def run_directory(data_dir: Path, run_id: str) -> Path:
    """``<data_dir>/evaluations/run_id=<run_id>``; ``ValueError`` for an unsafe id."""
    return data_dir / EVALUATIONS_DIR / run_folder_name(run_id)


def json_text(value: Any) -> str | None:
    """``value`` as JSON text (None stays None; what JSON cannot hold becomes its ``str``)."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=str)


def _score_value(value: Any) -> float | None:
    # As the assessments dataset's score_value: numbers, booleans as 1/0.
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    return None


def rows_file_table(outcomes: Sequence[RowOutcome]) -> pa.Table:
    """``rows.parquet``: one row per outcome, the open-ended values as JSON text."""
    return pa.table(
        {
            "row": [o.index for o in outcomes],
            "trace_id": [o.trace_id for o in outcomes],
            "source_trace_id": [o.source_trace_id for o in outcomes],
            "inputs": [json_text(o.inputs) for o in outcomes],
            "outputs": [json_text(o.outputs) for o in outcomes],
            "expectations": [json_text(o.expectations or None) for o in outcomes],
            "predict_error": [o.predict_error for o in outcomes],
        },
        schema=ROWS_SCHEMA,
    )


def scores_file_table(outcomes: Sequence[RowOutcome]) -> pa.Table:
    """``scores.parquet``: one row per outcome and assessment, in row then scorer order."""
    records = [
        {
            "row": outcome.index,
            "name": assessment.name,
            "value": json_text(assessment.value),
            "score_value": _score_value(assessment.value),
            "score_label": score_label(assessment.value),
            "rationale": assessment.rationale,
            "error": assessment.error,
            "source_type": str(assessment.source.source_type),
            "source_id": assessment.source.source_id,
            "metadata": json_text(dict(assessment.metadata)) if assessment.metadata else None,
            "created_time": assessment.create_time,
        }
        for outcome in outcomes
        for assessment in outcome.assessments
    ]
    return pa.Table.from_pylist(records, schema=SCORES_SCHEMA)


def write_run(
    data_dir: Path,
    *,
    run_id: str,
    run_name: str | None,
    experiment: str | None,
    created: dt.datetime,
    duration_ms: float,
    scorer_names: Sequence[str],
    predict_fn: str | None,
    metrics: dict[str, float],
    outcomes: Sequence[RowOutcome],
) -> Path:
    """Write ``rows.parquet``, ``scores.parquet`` then ``run.parquet`` (the finished mark) under
    ``<data_dir>/evaluations/run_id=<run_id>/``; returns that folder."""
    directory = run_directory(data_dir, run_id)
    write_parquet_atomically(rows_file_table(outcomes), directory / ROWS_FILE)
    write_parquet_atomically(scores_file_table(outcomes), directory / SCORES_FILE)
    run = pa.table(
        {
            "run_name": [run_name],
            "experiment": [experiment],
            "created_time": [created],
            "duration_ms": [duration_ms],
            "row_count": [len(outcomes)],
            "scorers": [list(scorer_names)],
            "predict_fn": [predict_fn],
            "metrics": [json.dumps(metrics)],
        },
        schema=RUN_SCHEMA,
    )
    write_parquet_atomically(run, directory / RUN_FILE)
    return directory


__all__ = ["ROWS_SCHEMA", "RUN_SCHEMA", "SCORES_SCHEMA", "rows_file_table", "run_directory", "scores_file_table", "write_run"]
