"""Several data directories read as one (storage/several_dirs.py): exact rows across them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otel_feedback_collector.storage import AssessmentRecord, SpanStore
from otel_feedback_collector.storage.several_dirs import connect_several, data_directories
from otlp_builders import make_span, traces_request

TRACE = bytes.fromhex("0123456789abcdef0123456789abcdef")
ROOT, CHILD, OTHER = (bytes.fromhex(f"00000000000000a{n}") for n in (1, 2, 3))
START = 1_700_000_000_000_000_000


def _store_once(data_dir: Path, spans: list, assessment_id: str) -> None:
    """One flush: every directory holds exactly one run, with the same run number."""
    with SpanStore(data_dir) as store:
        store.write_traces(traces_request(spans))
        store.write_assessments(
            [AssessmentRecord(trace_id=TRACE.hex(), name="user_feedback", value=True, assessment_id=assessment_id)]
        )
        store.flush()


@pytest.fixture
def split_dirs(tmp_path: Path) -> list[Path]:
    root = make_span(trace_id=TRACE, span_id=ROOT, name="root", start_ns=START, duration_ns=50_000,
                     attributes={"gen_ai.usage.input_tokens": 1})
    child = make_span(trace_id=TRACE, span_id=CHILD, parent_span_id=ROOT, name="child", start_ns=START + 10_000,
                      duration_ns=10_000, attributes={"gen_ai.usage.input_tokens": 10})
    other = make_span(trace_id=TRACE, span_id=OTHER, parent_span_id=ROOT, name="other", start_ns=START + 20_000,
                      duration_ns=100_000, attributes={"gen_ai.usage.input_tokens": 100})
    dirs = [tmp_path / "a", tmp_path / "b"]
    _store_once(dirs[0], [root, child], "same-assessment")
    _store_once(dirs[1], [child, other], "same-assessment")  # the child and the assessment in both
    manifests = [json.loads((d / "manifest.json").read_text()) for d in dirs]
    runs = [{f["run"] for f in manifest["datasets"]["trace_summaries"]} for manifest in manifests]
    assert runs[0] == runs[1] and len(runs[0]) == 1  # the case renumbering the runs is for
    return dirs


def test_a_trace_split_across_directories_is_one_exact_row(split_dirs: list[Path]) -> None:
    connection = connect_several(split_dirs)
    try:
        rows = connection.execute(
            "SELECT name, span_count, input_tokens, epoch_ns(start_time), epoch_ns(end_time) FROM traces"
        ).fetchall()
        spans = connection.execute("SELECT count(*) FROM spans").fetchone()
        assessments = connection.execute("SELECT count(*) FROM assessments").fetchone()
    finally:
        connection.close()
    assert rows == [("root", 3, 111, START, START + 120_000)]
    assert spans == (3,) and assessments == (1,)


def test_one_directory_alone_reads_as_before(split_dirs: list[Path]) -> None:
    connection = connect_several(split_dirs[1])
    try:
        assert connection.execute("SELECT name, span_count FROM traces").fetchall() == [("child", 2)]
    finally:
        connection.close()


def test_directories_are_checked_and_named_once(tmp_path: Path, split_dirs: list[Path]) -> None:
    assert data_directories([split_dirs[0], str(split_dirs[0]), split_dirs[1]]) == [d.resolve() for d in split_dirs]
    with pytest.raises(ValueError, match="at least one data directory"):
        data_directories([])
    with pytest.raises(FileNotFoundError, match="no otel-feedback data directory"):
        data_directories([split_dirs[0], tmp_path / "missing"])
