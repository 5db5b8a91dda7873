"""The data directory: where it is by default, the variable that names it, what readers see."""

from __future__ import annotations

import os
import re

DATA_DIR_ENV = "OTEL_FEEDBACK_DATA"
"""The environment variable naming the data directory (``serve``, ``sql``, ``search_traces``...)."""

DEFAULT_DATA_DIR = "./otel-feedback-data"
"""The data directory when neither ``--data`` nor :data:`DATA_DIR_ENV` names one."""

MANIFEST_NAME = "manifest.json"
"""The file that lists a data directory's live Parquet files; its presence marks a data directory."""

TRACE_COLUMNS: dict[str, str] = {
    "trace_id": "string",
    "name": "string",
    "request_preview": "string",
    "response_preview": "string",
    "start_time": "timestamp",
    "end_time": "timestamp",
    "duration_ms": "double",
    "status": "string",
    "span_count": "int64",
    "input_tokens": "int64",
    "output_tokens": "int64",
    "total_tokens": "int64",
    "session_id": "string",
    "user_id": "string",
    "experiment": "string",
    "service_name": "string",
}
"""The columns of the ``traces`` view, in order, with their kind (``string``, ``timestamp`` —
microseconds UTC —, ``double``, ``int64``). A trace row as ``search_traces`` and the REST API
return it has these, then ``request`` / ``response`` and the current assessments."""

ASSESSMENT_COLUMN_PREFIX = "assessments."
"""A trace table has one ``assessments.<name>`` column per assessment name."""


EVALUATIONS_DIR = "evaluations"
"""The data directory's folder of evaluation runs (docs/evaluation.md, "Files on disk")."""

RUN_FILE = "run.parquet"
"""A run's one-row file (name, time, scorers, metrics), written last: a run without it did not finish."""

ROWS_FILE = "rows.parquet"
"""A run's file with one row per evaluated row."""

SCORES_FILE = "scores.parquet"
"""A run's file with one row per evaluated row and score (runs in the ``run_id=`` layout)."""

RUN_FOLDER_PREFIX = "run_id="
"""A run's folder is ``evaluations/run_id=<id>/`` (Hive style: engines read ``run_id`` from the
path); runs written before this layout sit in ``evaluations/<id>/``."""

_RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def is_valid_run_id(run_id: str) -> bool:
    """Whether ``run_id`` is safe as a folder name and a Hive partition value: 1 to 128 ASCII
    letters, digits, ``_`` or ``-`` (no ``/``, ``.``, ``=`` or ``%``)."""
    return isinstance(run_id, str) and _RUN_ID.fullmatch(run_id) is not None


def run_folder_name(run_id: str) -> str:
    """``run_id=<run_id>``, the folder of a run under :data:`EVALUATIONS_DIR`; ``ValueError`` for
    an id that is not safe in a folder name."""
    if not is_valid_run_id(run_id):
        raise ValueError(
            f"an evaluation run id must be 1 to 128 letters, digits, '_' or '-'; got {run_id!r}"
        )
    return RUN_FOLDER_PREFIX + run_id


def default_data_dir() -> str:
    """The data directory named by :data:`DATA_DIR_ENV`, else :data:`DEFAULT_DATA_DIR`."""
    return os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
