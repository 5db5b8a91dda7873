"""``evaluate`` reads every documented data shape the same way, and writes its run as Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from otel_feedback_collector.storage.schema import SPAN_SCHEMA
from otel_feedback.evaluation import evaluate
from otel_feedback.scorers import ExactMatch, scorer

ROWS = [
    {"inputs": {"q": "France?"}, "outputs": "Paris", "expectations": {"expected_response": "Paris"}},
    {"inputs": {"q": "Spain?"}, "outputs": "Rome", "expectations": {"expected_response": "Madrid"}},
]


def _values(result) -> list:
    return result.rows.column("exact_match/value").to_pylist()


def test_lists_arrow_tables_and_polars_frames_give_the_same_rows():
    from_list = evaluate(ROWS, scorers=[ExactMatch()])
    as_json = [{**row, "inputs": json.dumps(row["inputs"]), "expectations": json.dumps(row["expectations"])} for row in ROWS]
    from_arrow = evaluate(pa.Table.from_pylist(as_json), scorers=[ExactMatch()])
    from_polars = evaluate(pl.DataFrame(as_json), scorers=[ExactMatch()])

    assert _values(from_list) == _values(from_arrow) == _values(from_polars) == [True, False]
    assert from_polars.rows.column("inputs").to_pylist() == [{"q": "France?"}, {"q": "Spain?"}]


def _span_row(trace_id: str, span_id: str, parent: str | None, start: int, text_in: str, text_out: str) -> dict:
    row = {field.name: None for field in SPAN_SCHEMA}
    row.update(trace_id=trace_id, span_id=span_id, parent_span_id=parent, name="chat", span_type="CHAIN",
               start_time_unix_nano=start, input=text_in, output=text_out, attributes="{}")
    return row


def test_a_glob_of_span_files_is_read_without_a_collector(tmp_path: Path):
    spans = tmp_path / "spans"
    spans.mkdir()
    first = [_span_row("1" * 32, "1" * 16, None, 1, '{"q": "France?"}', "Paris"),
             _span_row("1" * 32, "2" * 16, "1" * 16, 2, '"inner"', '"inner out"')]
    second = [_span_row("2" * 32, "3" * 16, None, 3, '{"q": "Spain?"}', "Rome"),
              _span_row("1" * 32, "1" * 16, None, 1, '{"q": "France?"}', "Paris")]  # a duplicate row
    pq.write_table(pa.Table.from_pylist(first, schema=SPAN_SCHEMA), spans / "spans-L0-1.parquet")
    pq.write_table(pa.Table.from_pylist(second, schema=SPAN_SCHEMA), spans / "spans-L0-2.parquet")

    @scorer
    def span_count(trace) -> int:
        return len(trace.spans)

    result = evaluate(str(spans / "*.parquet"), scorers=[span_count])

    table = result.rows.to_pylist()
    assert [(row["trace_id"], row["inputs"], row["outputs"]) for row in table] == [
        ("1" * 32, {"q": "France?"}, "Paris"), ("2" * 32, {"q": "Spain?"}, "Rome"),
    ]
    assert [row["span_count/value"] for row in table] == [2, 1]
    assert result.path is None  # no data directory: nothing written


def test_the_run_is_written_under_the_data_dir(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("OTEL_FEEDBACK_DATA", str(tmp_path))

    result = evaluate(ROWS, scorers=[ExactMatch()], run_name="nightly", experiment="faq")

    run_dir = tmp_path / "evaluations" / f"run_id={result.run_id}"
    assert result.path == run_dir
    assert sorted(p.name for p in run_dir.iterdir()) == ["rows.parquet", "run.parquet", "scores.parquet"]
    run = duckdb.sql(
        f"SELECT run_id, run_name, experiment, row_count, scorers, metrics FROM read_parquet('{run_dir}/run.parquet')"
    )
    assert run.fetchall() == [(result.run_id, "nightly", "faq", 2, ["exact_match"], json.dumps(result.metrics))]
    # One schema whatever the scorers: the open-ended values as JSON text, scores one per row.
    rows = pq.read_table(run_dir / "rows.parquet").to_pylist()
    assert [(r["row"], json.loads(r["inputs"]), json.loads(r["outputs"])) for r in rows] == [
        (row, r["inputs"], r["outputs"]) for row, r in enumerate(result.rows.to_pylist())
    ]
    scores = pq.read_table(run_dir / "scores.parquet").to_pylist()
    assert [(s["row"], s["name"], json.loads(s["value"]), s["score_value"], s["score_label"]) for s in scores] == [
        (row, "exact_match", r["exact_match/value"], float(r["exact_match/value"]), str(r["exact_match/value"]).lower())
        for row, r in enumerate(result.rows.to_pylist())
    ]
