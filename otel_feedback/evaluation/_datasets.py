"""Evaluation datasets: versioned sets of inputs and expectations, as Parquet files.

A dataset is a directory ``<data_dir>/datasets/<name>/`` of versions ``v1.parquet``,
``v2.parquet``, ... Every ``merge_records`` writes the next version holding *all* records (a
version is self-contained; older versions stay as they were). A record is keyed by its
inputs: merging a record whose inputs are already there updates its expectations (new names
added, same names replaced) instead of adding a duplicate. A version file is published with an
exclusive link, so two processes merging at once cannot both write ``v3``: the second re-reads
the new latest version and merges on top of it.

Columns: ``record_id`` (a hash of the inputs), ``inputs`` and ``expectations`` (JSON text),
``source_trace_id`` (the trace the record came from, for lineage), ``created_time`` and
``updated_time``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from otel_feedback_core.layout import DATA_DIR_ENV, DEFAULT_DATA_DIR
from otel_feedback.evaluation._files import write_parquet_atomically
from otel_feedback.evaluation._records import EvalRecord, record_from_row, table_rows
from otel_feedback.evaluation._trace_files import expectation_names, is_data_dir

DATASETS_DIR = "datasets"
DATASET_SCHEMA = pa.schema(
    [
        pa.field("record_id", pa.string()),
        pa.field("inputs", pa.string()),
        pa.field("expectations", pa.string()),
        pa.field("source_trace_id", pa.string()),
        pa.field("created_time", pa.timestamp("us", tz="UTC")),
        pa.field("updated_time", pa.timestamp("us", tz="UTC")),
    ]
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_VERSION_FILE = re.compile(r"^v(\d+)\.parquet$")
_MERGE_ATTEMPTS = 20


class DatasetNotFound(LookupError):
    """No dataset (or no such version of it) exists in the data directory."""


@dataclass(frozen=True)
class DatasetRecord:
    """One record: inputs, expectations, and the trace it came from."""

    record_id: str
    inputs: Any
    expectations: dict[str, Any]
    source_trace_id: str | None
    created_time: dt.datetime
    updated_time: dt.datetime


class EvaluationDataset:
    """A named, versioned evaluation dataset. Pass it to ``evaluate(data=...)``.

    ``version`` is the version this object shows (0 for a new, empty dataset); ``records`` its
    records. ``merge_records`` writes a new version and moves this object to it.
    """

    def __init__(self, *, name: str, directory: Path, version: int, records: list[DatasetRecord]) -> None:
        self.name = name
        self.directory = directory
        self.version = version
        self.records = records

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"EvaluationDataset(name={self.name!r}, version={self.version}, records={len(self.records)})"

    def merge_records(self, records: Any) -> EvaluationDataset:
        """Add or update records and write them as a new version; returns ``self`` at that version.

        ``records``: ``search_traces(...)`` results (their request becomes the inputs, their
        expectation assessments the expectations, their trace id the source), or dicts with
        ``inputs`` and optional ``expectations`` / ``source_trace_id``, or a DataFrame.
        """
        incoming = _incoming_records(records, data_dir=self.directory.parent.parent)
        for _ in range(_MERGE_ATTEMPTS):
            latest = latest_version(self.directory)
            base = read_version(self.directory, latest) if latest else []
            merged = _merge(base, incoming, now=dt.datetime.now(dt.timezone.utc))
            try:
                write_parquet_atomically(_to_table(merged), self.directory / f"v{latest + 1}.parquet", replace=False)
            except FileExistsError:
                continue  # another writer published that version first: merge on top of theirs
            self.version, self.records = latest + 1, merged
            return self
        raise RuntimeError(f"dataset {self.name!r} is being changed by other writers too often; try again")

    def to_table(self) -> pa.Table:
        """The records as a pyarrow table (the version file's columns)."""
        return _to_table(self.records)

    def to_eval_records(self) -> list[EvalRecord]:
        """The records as evaluation rows (no outputs: use ``predict_fn``)."""
        return [
            EvalRecord(inputs=record.inputs, expectations=dict(record.expectations), trace_id=record.source_trace_id)
            for record in self.records
        ]


def create_dataset(name: str, *, data_dir: str | os.PathLike[str] | None = None) -> EvaluationDataset:
    """Create an empty dataset (version 0) in ``data_dir`` (default ``$OTEL_FEEDBACK_DATA`` or
    ``./otel-feedback-data``); raises ``FileExistsError`` if the name is taken."""
    directory = _dataset_dir(name, data_dir)
    try:
        directory.mkdir(parents=True)
    except FileExistsError:
        raise FileExistsError(
            f"a dataset named {name!r} already exists in {directory.parent.parent}: open it with get_dataset({name!r})"
        ) from None
    return EvaluationDataset(name=name, directory=directory, version=0, records=[])


def get_dataset(name: str, *, version: int | None = None, data_dir: str | os.PathLike[str] | None = None) -> EvaluationDataset:
    """Open a dataset at ``version`` (default: the latest); raises ``DatasetNotFound``."""
    directory = _dataset_dir(name, data_dir)
    if not directory.is_dir():
        raise DatasetNotFound(f"there is no dataset named {name!r} in {directory.parent.parent}; create_dataset({name!r}) makes one")
    latest = latest_version(directory)
    wanted = latest if version is None else version
    if isinstance(wanted, bool) or not isinstance(wanted, int) or wanted < 0 or wanted > latest:
        raise DatasetNotFound(f"dataset {name!r} has versions 0 to {latest}; version {version!r} does not exist")
    records = read_version(directory, wanted) if wanted else []
    return EvaluationDataset(name=name, directory=directory, version=wanted, records=records)


def latest_version(directory: Path) -> int:
    """The highest version number written in a dataset directory (0 when none)."""
    numbers = [int(match.group(1)) for path in directory.iterdir() if (match := _VERSION_FILE.match(path.name))]
    return max(numbers, default=0)


def read_version(directory: Path, version: int) -> list[DatasetRecord]:
    """The records of one version file."""
    rows = pq.read_table(directory / f"v{version}.parquet").to_pylist()
    return [
        DatasetRecord(
            record_id=row["record_id"], inputs=json.loads(row["inputs"]), expectations=json.loads(row["expectations"]),
            source_trace_id=row["source_trace_id"], created_time=row["created_time"], updated_time=row["updated_time"],
        )
        for row in rows
    ]


def _dataset_dir(name: str, data_dir: str | os.PathLike[str] | None) -> Path:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"dataset name {name!r} must be 1-128 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    root = Path(data_dir) if data_dir is not None else Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)
    return root / DATASETS_DIR / name


def _incoming_records(records: Any, *, data_dir: Path) -> list[EvalRecord]:
    if isinstance(records, EvaluationDataset):
        return records.to_eval_records()
    rows = table_rows(records)
    names = expectation_names(data_dir) if is_data_dir(data_dir) else None
    return [record_from_row(row, expectation_names=names) for row in rows]


def _record_id(inputs: Any) -> str:
    canonical = json.dumps(inputs, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def _merge(base: Sequence[DatasetRecord], incoming: Sequence[EvalRecord], *, now: dt.datetime) -> list[DatasetRecord]:
    merged = {record.record_id: record for record in base}
    for record in incoming:
        record_id = _record_id(record.inputs)
        old = merged.get(record_id)
        if old is None:
            merged[record_id] = DatasetRecord(record_id, record.inputs, dict(record.expectations), record.trace_id, now, now)
        else:
            merged[record_id] = DatasetRecord(
                record_id, old.inputs, {**old.expectations, **record.expectations},
                record.trace_id or old.source_trace_id, old.created_time, now,
            )
    return list(merged.values())


def _to_table(records: Sequence[DatasetRecord]) -> pa.Table:
    return pa.table(
        {
            "record_id": [r.record_id for r in records],
            "inputs": [json.dumps(r.inputs, ensure_ascii=False, default=str) for r in records],
            "expectations": [json.dumps(r.expectations, ensure_ascii=False, default=str) for r in records],
            "source_trace_id": [r.source_trace_id for r in records],
            "created_time": [r.created_time for r in records],
            "updated_time": [r.updated_time for r in records],
        },
        schema=DATASET_SCHEMA,
    )
