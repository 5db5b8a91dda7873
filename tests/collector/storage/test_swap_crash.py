"""kill -9 at every step of a compaction swap: after the restart every row is live exactly
once (in the views and in a glob over each dataset folder), and nothing is lost.

The crash is real: a child process opens the store and runs ``compact(full=True)``; the test
seam ``swap.after_step`` (called with each step's name once the step is durable, see
collector/storage/swap.py) sends the child SIGKILL at the chosen step. The test then reopens
the directory in this process, as a restarted collector would. The same seam raising an
``OSError`` stands in for a rename the file system refuses, which the running store undoes.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from otel_feedback_collector.storage import AssessmentRecord, SpanStore
from folder_globs import duckdb_glob_counts, parquet_names, pyarrow_folder_counts
from otlp_builders import genai_trace, traces_request

_CHILD = """
import os, signal, sys
from otel_feedback_collector.storage import SpanStore, swap

data_dir, step, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = 0

def crash(name):
    global seen
    if name == step:
        seen += 1
        if seen == nth:
            os.kill(os.getpid(), signal.SIGKILL)

swap.after_step = crash
store = SpanStore(data_dir, compaction_fan_in=1000, retired_file_grace=3600)
store.open()
store.compact(full=True)
sys.exit(3)  # the step never came
"""

_FLUSHES = 4
_SPANS = _FLUSHES * 2 * 3
_ASSESSMENTS = _FLUSHES


def _fill(data_dir: Path) -> list[tuple]:
    """Four flushes of two traces and an assessment each; returns the spans as the view shows them."""
    with SpanStore(data_dir, compaction_fan_in=1000) as store:
        for number in range(_FLUSHES):
            traces = [genai_trace(text=f"{number}-{i}") for i in range(2)]
            store.write_traces(traces_request([s for _, spans in traces for s in spans]))
            store.write_assessments(
                [AssessmentRecord(trace_id=traces[0][0].hex(), name="user_feedback", value=True)]
            )
            store.flush()
        return store.connect().execute("SELECT * FROM spans ORDER BY trace_id, span_id").fetchall()


def _assert_exactly_once(data_dir: Path) -> None:
    for dataset, rows in (("spans", _SPANS), ("assessments", _ASSESSMENTS), ("trace_summaries", 8)):
        assert duckdb_glob_counts(data_dir, dataset) == (rows, rows), dataset
    assert pyarrow_folder_counts(data_dir, "spans") == (_SPANS, _SPANS)
    manifest = json.loads((data_dir / "manifest.json").read_text())
    for dataset, files in manifest["datasets"].items():
        # The folder holds the live files and nothing else a glob or a reader could pick up.
        assert parquet_names(data_dir, dataset) == sorted(f["path"].split("/")[1] for f in files)
        assert not [p.name for p in (data_dir / dataset).iterdir() if p.name.endswith(".tmp")]
        retired = data_dir / dataset / "_retired"
        listed = {entry["path"] for entry in manifest["retired"]}
        if retired.is_dir():
            assert {f"{dataset}/_retired/{p.name}" for p in retired.iterdir()} <= listed


@pytest.mark.parametrize(
    ("step", "nth"),
    [
        ("input retired", 1),  # one span input moved, the others not
        ("inputs retired", 1),  # all span inputs moved, nothing merged in place
        ("output published", 1),  # the merged span file in place, its summary not yet
        ("outputs published", 1),  # merged files in place, manifest not yet written
        ("manifest published", 1),  # the span swap done, assessments not started
        ("input retired", 6),  # span files moved, two of the four summary files too
        ("input retired", 10),  # inside the assessments' swap (after 8 span + summary inputs)
        ("outputs published", 2),  # the assessments' merged file in place, no manifest
    ],
)
def test_a_crash_at_any_step_of_a_swap_leaves_every_row_live_exactly_once(
    data_dir: Path, step: str, nth: int
) -> None:
    spans = _fill(data_dir)
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(data_dir), step, str(nth)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr

    with SpanStore(data_dir, compaction_fan_in=1000, retired_file_grace=3600) as store:
        _assert_exactly_once(data_dir)
        connection = store.connect()
        assert connection.execute("SELECT * FROM spans ORDER BY trace_id, span_id").fetchall() == spans
        assert connection.execute("SELECT count(*) FROM assessment_log").fetchone() == (_ASSESSMENTS,)
        # The interrupted merge runs again and the result is the same rows, once each.
        store.compact(full=True)
        _assert_exactly_once(data_dir)
        assert store.connect().execute(
            "SELECT * FROM spans ORDER BY trace_id, span_id"
        ).fetchall() == spans


@pytest.mark.parametrize("step", ["input retired", "inputs retired", "output published", "outputs published"])
def test_a_swap_that_fails_part_way_is_put_back_at_once(
    data_dir: Path, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otel_feedback_collector.storage import swap

    spans = _fill(data_dir)

    def fail(name: str) -> None:
        if name == step:  # e.g. a rename refused by the file system
            raise OSError(f"simulated failure after {name}")

    with SpanStore(data_dir, compaction_fan_in=1000, retired_file_grace=3600) as store:
        before = (data_dir / "manifest.json").read_text()
        monkeypatch.setattr(swap, "after_step", fail)
        with pytest.raises(OSError, match="simulated"):
            store.compact(full=True)
        # Nothing changed: the inputs are back, the merged files gone, the manifest as it was.
        assert (data_dir / "manifest.json").read_text() == before
        _assert_exactly_once(data_dir)
        assert not list((data_dir / "spans" / "_retired").iterdir())
        assert store.connect().execute("SELECT * FROM spans ORDER BY trace_id, span_id").fetchall() == spans
        monkeypatch.undo()
        store.compact(full=True)
        _assert_exactly_once(data_dir)
        assert store.connect().execute("SELECT * FROM spans ORDER BY trace_id, span_id").fetchall() == spans


def test_a_damaged_manifest_after_a_crash_mid_swap_is_repaired_with_the_inputs_back(
    data_dir: Path,
) -> None:
    spans = _fill(data_dir)
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(data_dir), "inputs retired", "1"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    # manifest.json is damaged too (a double fault): the repair starts from manifest.json.prev,
    # which lists the span inputs as live although they sit in spans/_retired/ now.
    (data_dir / "manifest.json").write_text("{ damaged")
    with SpanStore(data_dir, compaction_fan_in=1000, retired_file_grace=3600) as store:
        assert store.connect().execute(
            "SELECT * FROM spans ORDER BY trace_id, span_id"
        ).fetchall() == spans
        assert duckdb_glob_counts(data_dir, "spans") == (_SPANS, _SPANS)
