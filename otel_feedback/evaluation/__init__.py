"""Evaluation: re-run an app over traces or a dataset, and judge the answers.

``evaluate(data, predict_fn=..., scorers=[...])`` returns an ``EvaluationResult`` (run id,
metrics, a table of rows); each score is also logged as feedback on the row's trace and the run
is written next to the traces as Parquet. Scorers live in ``otel_feedback.scorers``; datasets
are made with ``create_dataset`` / ``get_dataset``. docs/evaluation.md is the guide.
"""

from __future__ import annotations

from otel_feedback._extras import MissingExtra

try:  # evaluation reads and writes Parquet: it comes with the collector extra
    import pyarrow  # noqa: F401
except ModuleNotFoundError as _missing:
    raise MissingExtra("otel_feedback.evaluation (evaluate, datasets)", _missing.name or "pyarrow") from None

from otel_feedback.evaluation._datasets import (
    DatasetNotFound,
    DatasetRecord,
    EvaluationDataset,
    create_dataset,
    get_dataset,
)
from otel_feedback.evaluation._judge_client import JudgeError
from otel_feedback.evaluation._judge_prompts import parse_judge_prompt
from otel_feedback.evaluation._results import EvaluationResult
from otel_feedback.evaluation._run import RUN_ID_ATTRIBUTE, evaluate
from otel_feedback.evaluation._trace import Trace, TraceSpan

__all__ = [
    "RUN_ID_ATTRIBUTE",
    "DatasetNotFound",
    "DatasetRecord",
    "EvaluationDataset",
    "EvaluationResult",
    "JudgeError",
    "Trace",
    "TraceSpan",
    "create_dataset",
    "evaluate",
    "get_dataset",
    "parse_judge_prompt",
]
