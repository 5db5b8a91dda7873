"""Reading evaluation runs from a data directory, in both layouts the SDK has written.

* ``evaluations/run_id=<id>/``: ``rows.parquet`` (open-ended values as JSON text),
  ``scores.parquet`` (one row per row and score) and ``run.parquet`` (written last). One schema
  for every run (otel_feedback/evaluation/_run_files.py).
* ``evaluations/<id>/`` (versions before): ``rows.parquet`` with typed values and per-score
  columns ``<name>/value``, ``<name>/rationale``, ``<name>/error``, and ``run.parquet``.

Both are given to the pages in the older, wide shape: the run as a dict (``run_id``,
``run_name``, ``experiment``, ``created_time``, ``duration_ms``, ``row_count``, ``scorers``,
``predict_fn``, ``metrics``) and one dict per row with the per-score keys. A run without a
readable ``run.parquet`` has not finished (or is damaged): None, never an error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from otel_feedback_core.layout import (
    EVALUATIONS_DIR,
    ROWS_FILE,
    RUN_FILE,
    RUN_FOLDER_PREFIX,
    SCORES_FILE,
    is_valid_run_id,
)

_READ_ERRORS = (OSError, pa.ArrowException, ValueError)
_JSON_COLUMNS = ("inputs", "outputs", "expectations")


def run_ids(data_dir: Path) -> list[str]:
    """The ids of the run folders under ``data_dir/evaluations`` (either layout, each once)."""
    root = data_dir / EVALUATIONS_DIR
    if not root.is_dir():
        return []
    found = {child.name.removeprefix(RUN_FOLDER_PREFIX) for child in root.iterdir() if child.is_dir()}
    return sorted(run_id for run_id in found if is_valid_run_id(run_id))


def read_run_files(
    data_dir: Path, run_id: str, *, with_rows: bool
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """Run ``run_id``'s record and (when ``with_rows``) its rows in the wide shape, or None when
    the id is not safe, or the run is unknown, unfinished or unreadable."""
    if not is_valid_run_id(run_id):
        return None
    root = data_dir / EVALUATIONS_DIR
    current = root / (RUN_FOLDER_PREFIX + run_id)
    directory = current if current.is_dir() else root / run_id
    try:
        found = pq.read_table(directory / RUN_FILE).to_pylist()
        if not found:
            return None
        if not with_rows:
            rows: list[dict[str, Any]] = []
        elif directory is current:
            rows = _wide_rows(directory)
        else:
            rows = pq.read_table(directory / ROWS_FILE).to_pylist()
    except _READ_ERRORS:
        return None
    return {**found[0], "run_id": run_id}, rows


def _wide_rows(directory: Path) -> list[dict[str, Any]]:
    """``rows.parquet`` joined with ``scores.parquet``: one dict per row with ``<name>/value``
    (decoded from JSON), ``<name>/rationale`` and ``<name>/error`` for every score name."""
    rows = pq.read_table(directory / ROWS_FILE).to_pylist()
    scores = pq.read_table(directory / SCORES_FILE).to_pylist()
    names = list(dict.fromkeys(score["name"] for score in scores))
    by_row: dict[tuple[int, str], dict[str, Any]] = {}
    for score in scores:
        by_row.setdefault((score["row"], score["name"]), score)
    wide = []
    for row in rows:
        record = {key: (_decoded(value) if key in _JSON_COLUMNS else value) for key, value in row.items()}
        for name in names:
            score = by_row.get((row["row"], name), {})
            record[f"{name}/value"] = _decoded(score.get("value"))
            record[f"{name}/rationale"] = score.get("rationale")
            record[f"{name}/error"] = score.get("error")
        wide.append(record)
    return wide


def _decoded(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


__all__ = ["read_run_files", "run_ids"]
