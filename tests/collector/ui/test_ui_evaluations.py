"""The Evaluations pages: runs made with the real ``evaluate(...)`` into a running collector's data
directory, read back in real Chromium (list, run, comparison with a regression, markup shown as
text) and over plain HTTP (order, metrics, half-written runs, bad requests)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from playwright.sync_api import expect

from otel_feedback_collector.server import CollectorServer
from otel_feedback_collector.ui.evaluation_pages import compare_runs, read_run
from otel_feedback import Feedback
from otel_feedback.evaluation import evaluate
from otel_feedback.scorers import ExactMatch, scorer

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"
TRACE_ID = "0123456789abcdef0123456789abcdef"


@scorer
def length(outputs: str) -> Feedback:
    """A number that drops when the answer gets shorter, with a rationale that echoes the answer;
    an error for the answer "boom"."""
    if outputs == "boom":
        raise ValueError("the answer exploded")
    return Feedback(name="length", value=float(len(outputs)), rationale=f"answer was {outputs}")


def make_run(data_dir: Path, *, name: str, answers: dict[str, str]) -> str:
    """Evaluate one row per question (expected answer = the question upper-cased); return the run id."""
    rows = [
        {
            "inputs": {"question": question},
            "outputs": answer,
            "expectations": {"expected_response": question.upper()},
            "trace_id": TRACE_ID,
        }
        for question, answer in answers.items()
    ]
    result = evaluate(rows, scorers=[ExactMatch(), length], data_dir=data_dir, run_name=name)
    return result.run_id


def get(server: CollectorServer, path: str, **params: str) -> httpx.Response:
    """GET ``path`` on the collector."""
    return httpx.get(server.http_url + path, params=params, timeout=10)


def test_browser_list_run_and_comparison_with_one_regression(collector: CollectorServer, page: Any) -> None:
    assert collector.data_dir is not None
    # "hi" passes exact match in A and fails in B (a regression); "bye" is the same in both; the
    # hostile question's answer goes from wrong to right (an improvement). ExactMatch ignores case.
    baseline = make_run(collector.data_dir, name="baseline", answers={"hi": "HI", "bye": "BYE", HOSTILE: "no idea"})
    candidate = make_run(collector.data_dir, name="candidate", answers={HOSTILE: HOSTILE, "bye": "BYE", "hi": "HI?"})

    page.goto(collector.http_url + "/")
    page.click("#nav-evaluations")
    runs = page.locator("table#runs tbody tr")
    expect(runs).to_have_count(2)
    expect(runs.nth(0)).to_have_attribute("data-run-id", candidate)  # newest first
    expect(runs.nth(1).locator(".metric[data-name='exact_match']")).to_contain_text("pass rate 67%")

    runs.nth(0).get_by_role("link", name="candidate").click()
    expect(page).to_have_url(f"{collector.http_url}/evaluations/{candidate}")
    hostile_row = page.locator("table#rows tbody tr[data-row='0']")
    expect(hostile_row.locator("td.inputs")).to_contain_text(HOSTILE)
    expect(hostile_row.locator("td.outputs")).to_have_text(HOSTILE)
    expect(hostile_row.locator("td.verdict[data-name='length'] .rationale")).to_have_text(f"answer was {HOSTILE}")
    expect(hostile_row.locator("td.verdict[data-name='exact_match']")).to_have_attribute("data-kind", "pass")
    expect(page.locator("table#rows tbody tr[data-row='2'] td.verdict[data-name='exact_match']")).to_have_attribute(
        "data-kind", "fail"
    )
    expect(page.locator("img")).to_have_count(0)
    page.locator("table#rows tbody tr[data-row='0'] a.trace-link").click()
    expect(page).to_have_url(f"{collector.http_url}/traces/{TRACE_ID}")

    page.goto(collector.http_url + "/evaluations")
    page.select_option("#compare-a", baseline)
    page.select_option("#compare-b", candidate)
    page.click("#compare-form button[type=submit]")
    expect(page.locator("#regression-count")).to_contain_text("1 regression ·")
    expect(page.locator("#regression-count")).to_contain_text("3 rows matched by inputs")
    regressions = page.locator("table#comparison tbody tr.regression")
    expect(regressions).to_have_count(1)
    expect(regressions.locator("td.inputs")).to_have_text("question: hi")
    expect(regressions).to_have_attribute("data-regressed", "exact_match")  # its length went up
    expect(page.locator("table#comparison tbody tr.improvement")).to_have_count(1)
    expect(page.locator("table#comparison tbody tr.improvement td.outputs").nth(1)).to_have_text(HOSTILE)
    expect(page.locator("img")).to_have_count(0)


def test_lower_number_and_new_error_are_regressions(collector: CollectorServer) -> None:
    assert collector.data_dir is not None
    a = make_run(collector.data_dir, name="a", answers={"one": "ONE", "two": "a long answer", "three": "fine"})
    b = make_run(collector.data_dir, name="b", answers={"two": "short", "one": "ONE", "three": "boom"})
    first, second = read_run(collector.data_dir, a, with_rows=True), read_run(collector.data_dir, b, with_rows=True)
    assert first is not None and second is not None
    comparison = compare_runs(first, second)
    assert len(comparison.rows) == 3  # B's rows come in another order, matched by inputs
    assert all(row.a is not None and row.b is not None and row.a.inputs == row.b.inputs for row in comparison.rows)
    regressed = {row.inputs: row.regressed for row in comparison.rows}
    assert regressed == {
        "question: one": [],
        "question: two": ["length"],
        "question: three": ["length"],
    }

    page = get(collector, "/evaluations/compare", a=a, b=b)
    assert page.status_code == 200
    assert page.text.count('class="regression"') == 2
    assert "2 regressions ·" in page.text
    assert "the answer exploded" in page.text


def test_runs_list_skips_unfinished_and_damaged_runs(collector: CollectorServer) -> None:
    assert collector.data_dir is not None
    assert "No evaluation runs yet" in get(collector, "/evaluations").text
    run_id = make_run(collector.data_dir, name="finished", answers={"q": "Q"})
    evaluations = collector.data_dir / "evaluations"
    unfinished = evaluations / "unfinished0000"
    unfinished.mkdir()
    pq.write_table(pa.table({"row": [0]}), unfinished / "rows.parquet")  # run.parquet not written yet
    damaged = evaluations / "damaged0000"
    damaged.mkdir()
    (damaged / "run.parquet").write_bytes(b"PAR1 not really parquet")

    listing = get(collector, "/evaluations")
    assert listing.status_code == 200
    assert listing.text.count("data-run-id=") == 1
    assert f'data-run-id="{run_id}"' in listing.text
    assert get(collector, "/evaluations/unfinished0000").status_code == 404
    assert get(collector, "/evaluations/damaged0000").status_code == 404


def test_unknown_runs_and_missing_parameters_are_plain_errors(collector: CollectorServer) -> None:
    assert collector.data_dir is not None
    run_id = make_run(collector.data_dir, name="only", answers={"q": "Q"})
    missing = get(collector, "/evaluations/0000")
    assert missing.status_code == 404
    assert "no finished evaluation run" in missing.text
    assert missing.headers["content-security-policy"].startswith("default-src 'self'")
    assert get(collector, "/evaluations/..%2F..%2Fmanifest.json").status_code == 404
    assert get(collector, "/evaluations/compare", a=run_id).status_code == 400
    assert get(collector, "/evaluations/compare", a=run_id, b="nope").status_code == 404
    same = get(collector, "/evaluations/compare", a=run_id, b=run_id)
    assert same.status_code == 200
    assert "0 regressions ·" in same.text


def test_run_page_shows_every_verdict_and_the_metrics(collector: CollectorServer) -> None:
    assert collector.data_dir is not None
    run_id = make_run(collector.data_dir, name="metrics", answers={"a": "A", "b": "nope"})
    text = get(collector, f"/evaluations/{run_id}").text
    assert "pass rate 50%" in text
    assert "mean 2.5" in text
    assert text.count('data-kind="pass"') == 1
    assert text.count('data-kind="fail"') == 1
    assert text.count('data-kind="number"') == 2
    assert f'href="/traces/{TRACE_ID}"' in text
    assert "answer was nope" in text


def test_runs_are_listed_newest_first(collector: CollectorServer) -> None:
    created = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    assert collector.data_dir is not None
    newer = make_run(collector.data_dir, name="newer", answers={"q": "Q"})
    older = make_run(collector.data_dir, name="older", answers={"q": "Q"})
    run_file = collector.data_dir / "evaluations" / f"run_id={older}" / "run.parquet"
    table = pq.read_table(run_file)
    index = table.schema.get_field_index("created_time")
    table = table.set_column(index, table.schema.field(index), pa.array([created], type=table.schema.field(index).type))
    pq.write_table(table, run_file)
    text = get(collector, "/evaluations").text
    assert text.index(f'data-run-id="{newer}"') < text.index(f'data-run-id="{older}"')


def write_older_layout_run(data_dir: Path, run_id: str, rows: pa.Table, *, name: str) -> None:
    """A run as versions before the ``run_id=`` folders wrote it: ``evaluations/<id>/`` with the
    per-score columns of ``EvaluationResult.rows`` and a ``run.parquet`` holding the id."""
    directory = data_dir / "evaluations" / run_id
    directory.mkdir(parents=True)
    pq.write_table(rows, directory / "rows.parquet")
    run = {
        "run_id": [run_id], "run_name": [name], "experiment": [None],
        "created_time": [dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)], "duration_ms": [1.0],
        "row_count": [rows.num_rows], "scorers": [["exact_match", "length"]], "predict_fn": [None],
        "metrics": ['{"exact_match/pass_rate": 0.5}'],
    }
    pq.write_table(pa.table(run), directory / "run.parquet")


def test_runs_of_the_older_layout_read_like_new_ones(collector: CollectorServer) -> None:
    assert collector.data_dir is not None
    answers = {"a": "A", "b": "nope", HOSTILE: "x"}
    rows = [
        {"inputs": {"question": q}, "outputs": a, "expectations": {"expected_response": q.upper()}, "trace_id": TRACE_ID}
        for q, a in answers.items()
    ]
    result = evaluate(rows, scorers=[ExactMatch(), length], data_dir=collector.data_dir, run_name="new")
    write_older_layout_run(collector.data_dir, "older0000", result.rows, name="old")

    new, old = read_run(collector.data_dir, result.run_id, with_rows=True), read_run(collector.data_dir, "older0000", with_rows=True)
    assert new is not None and old is not None
    assert (old.run_name, old.row_count, old.score_names) == ("old", 3, ["exact_match", "length"])
    assert old.rows == new.rows  # the same display rows from either layout
    assert [row.verdicts["length"].value for row in new.rows] == [1.0, 4.0, 1.0]
    listing = get(collector, "/evaluations").text
    assert 'data-run-id="older0000"' in listing and f'data-run-id="{result.run_id}"' in listing
    assert "0 regressions ·" in get(collector, "/evaluations/compare", a="older0000", b=result.run_id).text
    # A folder name that is not a run id (the Hive form is not one either) is no run.
    assert get(collector, f"/evaluations/run_id={result.run_id}").status_code == 404
