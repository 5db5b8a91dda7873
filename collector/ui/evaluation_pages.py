"""``evaluation_routes``: the Evaluations pages, read straight from the runs' Parquet files.

::

    GET /evaluations                      runs, newest first: name, time, rows, metrics per score
    GET /evaluations/compare?a=RUN&b=RUN  two runs' rows matched by inputs, regressions counted
    GET /evaluations/{run_id}             one run's rows: inputs, outputs, expected, each verdict

``evaluate(..., data_dir=...)`` writes ``<data_dir>/evaluations/run_id=<run_id>/`` (older
versions ``<run_id>/``), ``run.parquet`` last (docs/evaluation.md), each file by an atomic
rename; evaluation_files.py reads both layouts. The pages read those files per request in a
worker thread, so a run shows up on reload; a run without a readable ``run.parquet`` has not
finished (or is damaged) and is skipped, never an error page.

A row regressed when a verdict both runs have got worse from A to B: pass (``true``/``yes``)
became fail (``false``/``no``) or an error, a number went down, or a value became an error.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from otel_feedback_collector.ui.evaluation_files import read_run_files, run_ids
from otel_feedback_collector.ui.rendering import format_time, render_page

if TYPE_CHECKING:
    from otel_feedback_collector.app_context import AppContext

_PASS = frozenset({"yes", "pass", "true"})
_FAIL = frozenset({"no", "fail", "false"})
NO_RUNS_HINT = (
    "No evaluation runs yet: call evaluate(..., data_dir=<this collector's data directory>) or "
    "`otel-feedback evaluate --data <data directory>`; runs appear here on reload."
)
NO_DATA_DIR_HINT = (
    "This collector has no data directory, so it has no evaluation runs to show; start it with "
    "--data to read <data>/evaluations/."
)


@dataclass(frozen=True)
class Verdict:
    """One score on one row: its value as text, its kind (pass, fail, number, text) and the rest."""

    name: str
    value: Any
    text: str
    kind: str
    rationale: str | None
    error: str | None


@dataclass(frozen=True)
class EvaluationRow:
    """One evaluated row, with its values as display text and its verdicts by score name."""

    row: int
    trace_id: str | None
    source_trace_id: str | None
    inputs: str
    outputs: str
    expectations: str
    predict_error: str | None
    verdicts: dict[str, Verdict]
    match_key: str


@dataclass(frozen=True)
class MetricGroup:
    """One score's metrics in a run: ``pass_rate`` / ``mean`` as text, and its error count."""

    name: str
    summary: str
    errors: int


@dataclass(frozen=True)
class EvaluationRun:
    """One finished run (``run.parquet``) and, when read, its rows (``rows.parquet``)."""

    run_id: str
    run_name: str | None
    experiment: str | None
    created_time: dt.datetime | None
    duration_ms: float | None
    row_count: int
    predict_fn: str | None
    metrics: list[MetricGroup]
    score_names: list[str]
    rows: list[EvaluationRow]

    @property
    def label(self) -> str:
        """The run's name, else ``run`` and the first 8 characters of its id (a 32-character id
        is hard to tell apart; the pages show the time beside it)."""
        return self.run_name or f"run {self.run_id[:8]}"

    @property
    def label_with_time(self) -> str:
        """The label and the run's time, for lists where runs are picked (``candidate · 2026-…``)."""
        when = format_time(self.created_time)
        return f"{self.label} · {when}" if when else self.label


@dataclass(frozen=True)
class ComparedRow:
    """Rows of runs A and B with the same inputs (either may be missing), and what got worse."""

    a: EvaluationRow | None
    b: EvaluationRow | None
    regressed: list[str]
    improved: list[str]

    @property
    def inputs(self) -> str:
        """The shared inputs, as text."""
        return (self.a or self.b).inputs  # type: ignore[union-attr]

    @property
    def expectations(self) -> str:
        """The expected values, as text: A's, else B's (rows match by inputs, so they agree unless
        the data set changed)."""
        return (self.a.expectations if self.a and self.a.expectations else self.b.expectations if self.b else "")


@dataclass(frozen=True)
class Comparison:
    """Runs A and B side by side: matched rows, the score names, and the regression count."""

    a: EvaluationRun
    b: EvaluationRun
    rows: list[ComparedRow]
    score_names: list[str]

    @property
    def regression_count(self) -> int:
        """How many rows have at least one verdict that got worse."""
        return sum(1 for row in self.rows if row.regressed)

    @property
    def improvement_count(self) -> int:
        """How many rows have a verdict that got better and none that got worse."""
        return sum(1 for row in self.rows if row.improved and not row.regressed)


def evaluation_routes(context: AppContext) -> Sequence[BaseRoute]:
    """The Evaluations pages over ``<context.data_dir>/evaluations/``."""
    data_dir = context.data_dir

    async def runs_page(_request: Request) -> Response:
        runs = await run_in_threadpool(lambda: list_runs(data_dir)) if data_dir is not None else []
        hint = NO_RUNS_HINT if data_dir is not None else NO_DATA_DIR_HINT
        return render_page("evaluation_runs.html", runs=runs, hint=hint)

    async def run_page(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        run = await run_in_threadpool(lambda: read_run(data_dir, run_id, with_rows=True))
        if run is None:
            return _run_not_found(run_id)
        return render_page("evaluation_run.html", run=run)

    async def compare_page(request: Request) -> Response:
        a_id, b_id = request.query_params.get("a", ""), request.query_params.get("b", "")
        if not a_id or not b_id:
            return render_page(
                "not_found.html", status_code=400,
                message="Pick two runs to compare: /evaluations/compare?a=RUN_ID&b=RUN_ID "
                        "(the Evaluations page has a form for it).",
            )
        runs = await run_in_threadpool(
            lambda: (read_run(data_dir, a_id, with_rows=True), read_run(data_dir, b_id, with_rows=True))
        )
        for run_id, run in zip((a_id, b_id), runs):
            if run is None:
                return _run_not_found(run_id)
        a, b = runs
        assert a is not None and b is not None
        return render_page("evaluation_compare.html", comparison=compare_runs(a, b))

    return [
        Route("/evaluations", runs_page, methods=["GET"], name="ui_evaluations"),
        Route("/evaluations/compare", compare_page, methods=["GET"], name="ui_evaluation_compare"),
        Route("/evaluations/{run_id}", run_page, methods=["GET"], name="ui_evaluation_run"),
    ]


def _run_not_found(run_id: str) -> Response:
    return render_page(
        "not_found.html", status_code=404,
        message=f"There is no finished evaluation run {run_id!r} in this collector's data directory; "
                "pick one from the Evaluations page.",
    )


def list_runs(data_dir: Path) -> list[EvaluationRun]:
    """Every finished, readable run under ``data_dir``, newest first (rows not read)."""
    runs = [run for run_id in run_ids(data_dir) if (run := read_run(data_dir, run_id, with_rows=False))]
    oldest = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    return sorted(runs, key=lambda run: (run.created_time or oldest, run.run_id), reverse=True)


def read_run(data_dir: Path | None, run_id: str, *, with_rows: bool) -> EvaluationRun | None:
    """Run ``run_id`` (with its rows when ``with_rows``), or None when it is unknown, unfinished or
    unreadable."""
    found = read_run_files(data_dir, run_id, with_rows=with_rows) if data_dir is not None else None
    if found is None:
        return None
    run, rows = found
    return EvaluationRun(
        run_id=str(run.get("run_id") or run_id),
        run_name=run.get("run_name"),
        experiment=run.get("experiment"),
        created_time=run.get("created_time"),
        duration_ms=run.get("duration_ms"),
        row_count=int(run.get("row_count") or 0),
        predict_fn=run.get("predict_fn"),
        metrics=metric_groups(run.get("metrics")),
        score_names=_score_names(rows) if rows else list(run.get("scorers") or []),
        rows=[evaluation_row(row) for row in rows],
    )


def metric_groups(metrics_json: str | None) -> list[MetricGroup]:
    """``run.parquet``'s metrics JSON grouped per score name, in the order they were written."""
    try:
        metrics = json.loads(metrics_json or "{}")
    except ValueError:
        return []
    if not isinstance(metrics, dict):
        return []
    grouped: dict[str, dict[str, Any]] = {}
    for key, value in metrics.items():
        name, _, metric = str(key).rpartition("/")
        grouped.setdefault(name or metric, {})[metric] = value
    groups = []
    for name, values in grouped.items():
        parts = []
        if isinstance(values.get("pass_rate"), (int, float)):
            parts.append(f"pass rate {values['pass_rate']:.0%}")
        if isinstance(values.get("mean"), (int, float)):
            parts.append(f"mean {values['mean']:.3g}")
        errors = values.get("error_count")
        groups.append(MetricGroup(name, " · ".join(parts), int(errors) if isinstance(errors, (int, float)) else 0))
    return groups


def evaluation_row(row: Mapping[str, Any]) -> EvaluationRow:
    """One ``rows.parquet`` row as display text and verdicts."""
    verdicts = {
        name: verdict(name, row.get(f"{name}/value"), row.get(f"{name}/rationale"), row.get(f"{name}/error"))
        for name in _score_names([row])
    }
    return EvaluationRow(
        row=int(row.get("row") or 0),
        trace_id=row.get("trace_id"),
        source_trace_id=row.get("source_trace_id"),
        inputs=readable_text(row.get("inputs")),
        outputs=display_text(row.get("outputs")),
        expectations=readable_text(row.get("expectations")),
        predict_error=row.get("predict_error"),
        verdicts=verdicts,
        match_key=_match_key(row.get("inputs")),
    )


def verdict(name: str, value: Any, rationale: str | None, error: str | None) -> Verdict:
    """A score's value classified: ``pass``/``fail`` for booleans and yes/no, ``number``, ``text``,
    or ``error`` when it has an error and no value."""
    if error is not None and value is None:
        return Verdict(name, None, "error", "error", rationale, error)
    if isinstance(value, bool):
        return Verdict(name, value, "true" if value else "false", "pass" if value else "fail", rationale, error)
    if isinstance(value, (int, float)):
        text = f"{value:g}" if isinstance(value, float) else str(value)
        return Verdict(name, value, text, "number", rationale, error)
    if isinstance(value, str) and value.strip().lower() in _PASS | _FAIL:
        kind = "pass" if value.strip().lower() in _PASS else "fail"
        return Verdict(name, value, value, kind, rationale, error)
    return Verdict(name, value, display_text(value), "text" if value is not None else "none", rationale, error)


def compare_runs(a: EvaluationRun, b: EvaluationRun) -> Comparison:
    """Rows of ``a`` and ``b`` matched by inputs (repeats matched in order), A's order first."""
    waiting: dict[str, list[EvaluationRow]] = {}
    for row in b.rows:
        waiting.setdefault(row.match_key, []).append(row)
    pairs: list[tuple[EvaluationRow | None, EvaluationRow | None]] = []
    for row in a.rows:
        candidates = waiting.get(row.match_key)
        pairs.append((row, candidates.pop(0) if candidates else None))
    matched = {id(pair[1]) for pair in pairs if pair[1] is not None}
    pairs.extend((None, row) for row in b.rows if id(row) not in matched)
    names = list(dict.fromkeys([*a.score_names, *b.score_names]))
    rows = []
    for before, after in pairs:
        regressed, improved = [], []
        if before is not None and after is not None:
            for name in names:
                change = verdict_change(before.verdicts.get(name), after.verdicts.get(name))
                if change < 0:
                    regressed.append(name)
                elif change > 0:
                    improved.append(name)
        rows.append(ComparedRow(before, after, regressed, improved))
    return Comparison(a=a, b=b, rows=rows, score_names=names)


def verdict_change(before: Verdict | None, after: Verdict | None) -> int:
    """-1 when ``after`` is worse than ``before``, 1 when better, 0 when the same or not comparable."""
    if before is None or after is None:
        return 0
    if before.kind == "error" or after.kind == "error":
        return (before.kind == "error") - (after.kind == "error")
    if before.kind in ("pass", "fail") and after.kind in ("pass", "fail"):
        return (after.kind == "pass") - (before.kind == "pass")
    if before.kind == "number" and after.kind == "number":
        return (after.value > before.value) - (after.value < before.value)
    return 0


def display_text(value: Any) -> str:
    """A value as text: strings as they are, anything else as indented JSON ("" for None)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def readable_text(value: Any) -> str:
    """Inputs or expectations as a person reads them: one ``name: value`` line per field, strings
    without quotes (``question: What is MLflow?``); nested values as compact JSON. JSON text is
    parsed first; anything else is ``display_text``."""
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped.startswith(("{", "[")):
            return value
        try:
            value = json.loads(stripped)
        except ValueError:
            return value
    value = _without_nulls(value)
    if isinstance(value, dict) and value:
        return "\n".join(f"{key}: {_field_text(item)}" for key, item in value.items())
    return display_text(value)


def _field_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _match_key(inputs: Any) -> str:
    # Inputs may be a struct (dict) or JSON text, depending on the run's typing: compare parsed.
    if isinstance(inputs, str):
        try:
            inputs = json.loads(inputs)
        except ValueError:
            pass
    return json.dumps(_without_nulls(inputs), ensure_ascii=False, sort_keys=True, default=str)


def _without_nulls(value: Any) -> Any:
    # A struct column gives every row every field (missing ones as null): ignore those.
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _score_names(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if not rows:
        return []
    return [column.removesuffix("/value") for column in rows[0] if column.endswith("/value")]
