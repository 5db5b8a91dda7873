"""Reading a data directory's dataset folders the way outside engines do: a glob, no manifest."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.dataset as ds

# Each dataset's key; trace_summaries hold one row per trace and run, so in the tests (every
# trace is sent whole in one request, hence lands in one run) the trace id is unique too.
KEYS = {
    "spans": ("trace_id", "span_id"),
    "assessments": ("assessment_id",),
    "trace_summaries": ("trace_id",),
}


def duckdb_glob_counts(data_dir: Path, dataset: str) -> tuple[int, int]:
    """(rows, distinct keys) of ``read_parquet('<dir>/<dataset>/*.parquet')``."""
    keys = ", ".join(KEYS[dataset])
    pattern = str(data_dir / dataset / "*.parquet").replace("'", "''")
    row = duckdb.connect().execute(
        f"SELECT count(*), count(DISTINCT ({keys})) FROM read_parquet('{pattern}')"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def pyarrow_folder_counts(data_dir: Path, dataset: str) -> tuple[int, int]:
    """(rows, distinct keys) of ``pyarrow.dataset`` over the whole folder (it descends into
    sub-folders except those named ``_…`` or ``.…``)."""
    keys = list(KEYS[dataset])
    found = ds.dataset(data_dir / dataset, format="parquet")
    if not found.files:  # no schema to project the keys from
        return 0, 0
    table = found.to_table(columns=keys)
    return table.num_rows, table.group_by(keys).aggregate([]).num_rows


def parquet_names(data_dir: Path, dataset: str) -> list[str]:
    """The ``*.parquet`` names a glob over the dataset folder matches."""
    return sorted(path.name for path in (data_dir / dataset).glob("*.parquet"))
