"""The data directory: where it is by default, the variable that names it, what readers see."""

from __future__ import annotations

import os

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


def default_data_dir() -> str:
    """The data directory named by :data:`DATA_DIR_ENV`, else :data:`DEFAULT_DATA_DIR`."""
    return os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
