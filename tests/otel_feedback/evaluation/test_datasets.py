"""Evaluation datasets: every merge is a new version file; records are keyed by their inputs."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from otel_feedback.evaluation import DatasetNotFound, create_dataset, evaluate, get_dataset
from otel_feedback.scorers import ExactMatch

TRACE_A = "a" * 32
TRACE_B = "b" * 32


def test_each_merge_writes_a_new_version_and_old_versions_stay(tmp_path: Path):
    dataset = create_dataset("faq", data_dir=tmp_path)
    assert dataset.version == 0 and len(dataset) == 0

    dataset.merge_records([
        {"inputs": {"q": "France?"}, "expectations": {"expected_response": "Paris"}, "source_trace_id": TRACE_A},
    ])
    dataset.merge_records([
        {"inputs": {"q": "France?"}, "expectations": {"expected_facts": ["Paris"]}},
        {"inputs": {"q": "Spain?"}, "expectations": {"expected_response": "Madrid"}, "trace_id": TRACE_B},
    ])

    assert dataset.version == 2
    assert sorted(p.name for p in (tmp_path / "datasets" / "faq").iterdir()) == ["v1.parquet", "v2.parquet"]
    latest = get_dataset("faq", data_dir=tmp_path)
    assert latest.version == 2
    assert [(r.inputs, r.expectations, r.source_trace_id) for r in latest.records] == [
        ({"q": "France?"}, {"expected_response": "Paris", "expected_facts": ["Paris"]}, TRACE_A),
        ({"q": "Spain?"}, {"expected_response": "Madrid"}, TRACE_B),
    ]
    first = get_dataset("faq", version=1, data_dir=tmp_path)
    assert [(r.inputs, r.expectations) for r in first.records] == [({"q": "France?"}, {"expected_response": "Paris"})]
    # The version files are plain Parquet with JSON text columns.
    assert pq.read_table(tmp_path / "datasets" / "faq" / "v1.parquet").column("expectations").to_pylist() == [
        '{"expected_response": "Paris"}'
    ]


def test_a_stale_dataset_object_merges_on_top_of_the_latest_version(tmp_path: Path):
    create_dataset("shared", data_dir=tmp_path)
    writer_one = get_dataset("shared", data_dir=tmp_path)
    writer_two = get_dataset("shared", data_dir=tmp_path)
    writer_one.merge_records([{"inputs": {"q": "one"}}])
    writer_two.merge_records([{"inputs": {"q": "two"}}])

    assert writer_two.version == 2
    assert [r.inputs for r in get_dataset("shared", data_dir=tmp_path).records] == [{"q": "one"}, {"q": "two"}]


def test_search_traces_rows_become_records_with_lineage(tmp_path: Path):
    dataset = create_dataset("from-traces", data_dir=tmp_path)
    dataset.merge_records([
        {"trace_id": TRACE_A, "request": {"user_question": "What?"}, "response": "That.",
         "assessments.expected_response": "This.", "assessments.user_feedback": False},
    ])
    (record,) = dataset.records
    assert (record.inputs, record.expectations, record.source_trace_id) == (
        {"user_question": "What?"}, {"expected_response": "This."}, TRACE_A,
    )


def test_a_dataset_is_evaluation_data(tmp_path: Path):
    dataset = create_dataset("eval", data_dir=tmp_path)
    dataset.merge_records([{"inputs": {"q": "France?"}, "expectations": {"expected_response": "Paris"}}])

    result = evaluate(get_dataset("eval", data_dir=tmp_path), predict_fn=lambda q: "Paris", scorers=[ExactMatch()])

    assert result.metrics == {"exact_match/pass_rate": 1.0, "exact_match/error_count": 0.0}


def test_missing_names_versions_and_duplicates_are_explained(tmp_path: Path):
    with pytest.raises(DatasetNotFound, match="no dataset named 'nope'"):
        get_dataset("nope", data_dir=tmp_path)
    create_dataset("once", data_dir=tmp_path)
    with pytest.raises(FileExistsError, match="already exists"):
        create_dataset("once", data_dir=tmp_path)
    with pytest.raises(DatasetNotFound, match="versions 0 to 0"):
        get_dataset("once", version=3, data_dir=tmp_path)
    with pytest.raises(ValueError, match="dataset name"):
        create_dataset("../escape", data_dir=tmp_path)
