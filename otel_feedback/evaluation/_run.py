"""``evaluate``: run the app (optionally) and every scorer over the rows, in a bounded pool.

Each row is one task: call ``predict_fn(**inputs)`` inside a span of its own (the root of a new
trace, carrying ``otel_feedback.evaluation.run_id``), then run every scorer on the row, then log
each score as feedback on the row's trace. At most ``max_workers`` rows run at once; judge
calls share one rate gate per endpoint (``_judge_client``), so a 429 slows every worker down
instead of each one hammering the endpoint. Nothing a row does can stop the run: a failing
``predict_fn`` or scorer becomes an error on that row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from opentelemetry import trace as trace_api

from otel_feedback_core.assessments import Assessment, Feedback
from otel_feedback_core.wire import EXPERIMENT
from otel_feedback._config import settings
from otel_feedback._feedback import FeedbackNotDelivered, emit_assessment
from otel_feedback_core.layout import DATA_DIR_ENV
from otel_feedback._span_types import SpanType
from otel_feedback._tracing import start_span
from otel_feedback.evaluation._progress import ProgressBar
from otel_feedback.evaluation._records import EvalRecord, load_eval_data
from otel_feedback.evaluation._results import (
    EvaluationResult,
    RowOutcome,
    compute_metrics,
    rows_table,
)
from otel_feedback.evaluation._run_files import write_run
from otel_feedback.evaluation._scorer import Scorer, run_scorer
from otel_feedback.evaluation._span_capture import SpanCapture, capture_for
from otel_feedback.evaluation._trace import Trace
from otel_feedback.evaluation._trace_files import StoredSpans, first_dir, is_data_dir

logger = logging.getLogger(__name__)

RUN_ID_ATTRIBUTE = "otel_feedback.evaluation.run_id"
ROW_ATTRIBUTE = "otel_feedback.evaluation.row"
MAX_WORKERS_ENV = "OTEL_FEEDBACK_EVAL_MAX_WORKERS"
DEFAULT_MAX_WORKERS = 8


def evaluate(
    data: Any,
    *,
    predict_fn: Callable[..., Any] | None = None,
    scorers: Sequence[Scorer],
    experiment: str | None = None,
    max_workers: int | None = None,
    run_name: str | None = None,
    data_dir: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
) -> EvaluationResult:
    """Score every row of ``data`` with ``scorers``, re-running the app first when ``predict_fn`` is given.

    - ``data``: ``search_traces(...)`` results, a list of dicts with ``inputs`` (and optional
      ``outputs``, ``expectations``, ``trace_id``), a pandas/Polars DataFrame, a data directory
      or a glob of span Parquet files, or an evaluation dataset (``get_dataset(...)``).
    - ``predict_fn``: called as ``predict_fn(**inputs)`` per row, traced; its output is judged
      and its new trace is the row's trace.
    - ``scorers``: built-in scorers (``otel_feedback.scorers``) or ``@scorer`` functions.
    - ``max_workers``: rows evaluated at once (default ``$OTEL_FEEDBACK_EVAL_MAX_WORKERS`` or 8).
    - ``data_dir``: where traces are read for trace-reading scorers and where the run is written
      (``<data_dir>/evaluations/run_id=<run_id>/``); default: ``data`` itself when it is a data
      directory, else ``$OTEL_FEEDBACK_DATA``. Without one, nothing is written. A list of data
      directories (several collectors', docs/scaling.md) is read as one, and the run is
      written under the first; ``data`` may be such a list too.

    Each score is also logged as feedback on the row's trace (source ``LLM_JUDGE`` or ``CODE``,
    source id = the scorer's name, metadata ``{"run_id": ...}``) when tracing is configured.
    """
    active_scorers = _checked_scorers(scorers)
    workers = _max_workers(max_workers)
    if predict_fn is not None and not callable(predict_fn):
        raise ValueError(f"predict_fn must be callable (it is called as predict_fn(**inputs)); got {predict_fn!r}")
    directory = _resolve_data_dir(data, data_dir)
    eval_data = load_eval_data(data, data_dir=directory)
    run_id = uuid.uuid4().hex
    created = dt.datetime.now(dt.timezone.utc)
    started = time.monotonic()
    context = _RunContext(
        run_id=run_id,
        experiment=experiment,
        predict_fn=predict_fn,
        scorers=active_scorers,
        stored_spans=eval_data.stored_spans,
        capture=_span_capture() if predict_fn is not None else None,
    )
    progress = ProgressBar(len(eval_data.records))
    outcomes: list[RowOutcome] = []
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="otel-feedback-evaluate") as pool:
            futures = [pool.submit(context.evaluate_row_safely, index, record)
                       for index, record in enumerate(eval_data.records)]
            for future in as_completed(futures):
                outcomes.append(future.result())
                progress.advance()
    finally:
        progress.close()
        if eval_data.stored_spans is not None:
            eval_data.stored_spans.close()
    outcomes.sort(key=lambda outcome: outcome.index)
    metrics = compute_metrics(outcomes)
    table = rows_table(outcomes)
    path = None
    if directory is not None:
        path = write_run(
            first_dir(directory), run_id=run_id, run_name=run_name, experiment=experiment, created=created,
            duration_ms=(time.monotonic() - started) * 1000, scorer_names=[s.name for s in active_scorers],
            predict_fn=getattr(predict_fn, "__name__", None) if predict_fn else None, metrics=metrics, outcomes=outcomes,
        )
    return EvaluationResult(run_id=run_id, run_name=run_name, metrics=metrics, rows=table, path=path)


class _RunContext:
    """What every row task of one run shares."""

    def __init__(self, *, run_id: str, experiment: str | None, predict_fn: Callable[..., Any] | None,
                 scorers: list[Scorer], stored_spans: StoredSpans | None, capture: SpanCapture | None) -> None:
        self.run_id = run_id
        self.experiment = experiment
        self.predict_fn = predict_fn
        self.scorers = scorers
        self.stored_spans = stored_spans
        self.capture = capture
        self._deliver_feedback = settings.enabled
        self._lock = threading.Lock()

    def evaluate_row_safely(self, index: int, record: EvalRecord) -> RowOutcome:
        """``evaluate_row``, with a fault of our own turned into errors on the row, not a failed run."""
        try:
            return self.evaluate_row(index, record)
        except Exception as exc:  # noqa: BLE001
            logger.exception("otel_feedback: evaluating row %d failed", index)
            error = f"evaluation failed: {type(exc).__name__}: {exc}"
            return RowOutcome(
                index=index, inputs=record.inputs, outputs=record.outputs, expectations=record.expectations,
                trace_id=record.trace_id, source_trace_id=record.trace_id, predict_error=None,
                assessments=[Feedback(name=s.name, error=error, source=s.source) for s in self.scorers],
            )

    def evaluate_row(self, index: int, record: EvalRecord) -> RowOutcome:
        """Predict (when asked), score and log one row; never raises for the row's own faults."""
        outputs, trace_id, trace, predict_error = record.outputs, record.trace_id, None, None
        if self.predict_fn is not None:
            outputs, trace_id, trace, predict_error = self._predict(index, record.inputs)
        elif trace_id and self.stored_spans is not None:
            stored, wanted = self.stored_spans, trace_id
            trace = Trace(trace_id, lambda: stored.load(wanted))
        if predict_error is not None:
            assessments = [Feedback(name=s.name, error=f"predict_fn failed: {predict_error}", source=s.source)
                           for s in self.scorers]
        else:
            assessments = [
                assessment
                for active in self.scorers
                for assessment in run_scorer(active, inputs=record.inputs, outputs=outputs,
                                             expectations=record.expectations,
                                             trace=trace if active.needs_trace else None)
            ]
        if trace_id:
            self._log(trace_id, assessments)
        return RowOutcome(
            index=index, inputs=record.inputs, outputs=outputs, expectations=record.expectations,
            trace_id=trace_id, source_trace_id=record.trace_id, predict_error=predict_error, assessments=assessments,
        )

    def _predict(self, index: int, inputs: Any) -> tuple[Any, str | None, Trace | None, str | None]:
        assert self.predict_fn is not None
        if not isinstance(inputs, Mapping):
            return None, None, None, (
                f"the row's inputs are a {type(inputs).__name__}; predict_fn is called as predict_fn(**inputs), "
                "so inputs must be a dict of argument names to values"
            )
        name = getattr(self.predict_fn, "__name__", None) or "predict_fn"
        attributes: dict[str, Any] = {RUN_ID_ATTRIBUTE: self.run_id, ROW_ATTRIBUTE: index}
        if self.experiment:
            attributes[EXPERIMENT] = self.experiment
        outputs, error, watched = None, None, 0
        with start_span(name, span_type=SpanType.CHAIN, inputs=dict(inputs), attributes=attributes) as span:
            if span.is_recording() and self.capture is not None:
                watched = int(span.trace_id, 16)
                self.capture.watch(watched)
            try:
                outputs = self.predict_fn(**inputs)
                span.set_outputs(outputs)
            except Exception as exc:  # noqa: BLE001 - the row fails, the run goes on
                error = f"{type(exc).__name__}: {exc}"
                span.set_status("ERROR", error)
        if not span.is_recording() and not watched:
            return outputs, None, None, error
        trace_id = span.trace_id
        spans = self.capture.release(watched) if self.capture is not None and watched else []
        return outputs, trace_id, Trace(trace_id, lambda: spans), error

    def _log(self, trace_id: str, assessments: list[Assessment]) -> None:
        if not self._deliver_feedback:
            return
        for assessment in assessments:
            metadata = {**(assessment.metadata or {}), "run_id": self.run_id}
            try:
                emit_assessment(dataclasses.replace(assessment, trace_id=trace_id, metadata=metadata))
            except FeedbackNotDelivered as exc:
                with self._lock:
                    if self._deliver_feedback:
                        logger.info("otel_feedback: evaluation scores are not logged as feedback: %s", exc)
                    self._deliver_feedback = False
                return
            except Exception:  # noqa: BLE001 - logging a score never fails the row
                logger.warning("otel_feedback: could not log a score as feedback", exc_info=True)


def _span_capture() -> SpanCapture | None:
    if not settings.enabled:
        return None
    provider = settings.tracer_provider or trace_api.get_tracer_provider()
    return capture_for(provider)


def _checked_scorers(scorers: Sequence[Scorer]) -> list[Scorer]:
    if isinstance(scorers, Scorer):
        scorers = [scorers]
    active = list(scorers or [])
    if not active:
        raise ValueError("evaluate needs at least one scorer, e.g. scorers=[Correctness()]")
    for item in active:
        if not isinstance(item, Scorer):
            raise ValueError(
                f"{item!r} is not a scorer: use the classes in otel_feedback.scorers (instantiated, e.g. Correctness()) "
                "or decorate a function with @scorer"
            )
    names = [item.name for item in active]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"two scorers share the name {duplicates}: give one of them name=... so their scores stay apart")
    return active


def _max_workers(max_workers: int | None) -> int:
    if max_workers is None:
        raw = os.environ.get(MAX_WORKERS_ENV, "").strip()
        if not raw:
            return DEFAULT_MAX_WORKERS
        try:
            max_workers = int(raw)
        except ValueError:
            logger.warning("otel_feedback: ignoring %s=%r; it must be a positive integer", MAX_WORKERS_ENV, raw)
            return DEFAULT_MAX_WORKERS
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ValueError(f"max_workers must be a positive integer; got {max_workers!r}")
    return max_workers


def _resolve_data_dir(data: Any, data_dir: Any) -> Path | list[Path] | None:
    if isinstance(data_dir, (str, os.PathLike)):
        return Path(data_dir)
    if data_dir is not None:
        return [Path(entry) for entry in data_dir]
    if isinstance(data, (str, os.PathLike)) and is_data_dir(data):
        return Path(data)
    if isinstance(data, (list, tuple)) and is_data_dir(data):
        return [Path(entry) for entry in data]
    from_env = os.environ.get(DATA_DIR_ENV)
    return Path(from_env) if from_env else None
