"""What a scorer is, how a function becomes one (``@scorer``), and how its answers are read.

A scorer looks at one row — any of ``inputs``, ``outputs``, ``expectations``, ``trace`` — and
returns a bool, a number, a string, a ``Feedback`` or a list of ``Feedback``. ``run_scorer``
turns that into assessments named after the scorer (or the Feedback's own name), with the
scorer as their source; an exception, or an answer of the wrong kind, becomes an assessment
with an ``error`` instead, so one bad row never stops a run.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from typing import Any, overload

from otel_feedback_core.assessments import (
    FEEDBACK,
    Assessment,
    AssessmentSource,
    AssessmentSourceType,
    Feedback,
    validate_name,
)
from otel_feedback.evaluation._trace import Trace

SCORER_ARGUMENTS = ("inputs", "outputs", "expectations", "trace")
_DEFAULT_SOURCE = AssessmentSource()


class ScorerInputMissing(ValueError):
    """The row lacks something this scorer needs (an expectation, retrieved documents...)."""


class Scorer:
    """Base class of every scorer. Subclasses set ``name`` and implement ``score``.

    ``source_type`` is ``CODE`` for deterministic scorers and ``LLM_JUDGE`` for judged ones;
    ``needs_trace`` says whether ``score`` reads ``trace`` (so spans are loaded only then).
    A scorer is also callable directly: ``Correctness()(inputs=..., outputs=..., expectations=...)``.
    """

    name: str = "scorer"
    source_type: AssessmentSourceType = AssessmentSourceType.CODE
    needs_trace: bool = False

    def score(self, *, inputs: Any, outputs: Any, expectations: Mapping[str, Any], trace: Trace | None) -> Any:
        """Judge one row; return a bool, number, string, Feedback or list of Feedback."""
        raise NotImplementedError

    def __call__(self, *, inputs: Any = None, outputs: Any = None, expectations: Mapping[str, Any] | None = None,
                 trace: Trace | None = None) -> Any:
        return self.score(inputs=inputs, outputs=outputs, expectations=expectations or {}, trace=trace)

    @property
    def source(self) -> AssessmentSource:
        """The source its assessments carry: its type, and its name as the id."""
        return AssessmentSource(self.source_type, self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class FunctionScorer(Scorer):
    """A scorer made from a function by ``@scorer``; it is passed only the arguments it names."""

    def __init__(self, func: Callable[..., Any], *, name: str | None = None) -> None:
        self.func = func
        self.name = validate_name(name or getattr(func, "__name__", None) or "scorer")
        parameters = inspect.signature(func).parameters
        takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        unknown = [n for n, p in parameters.items() if n not in SCORER_ARGUMENTS and p.default is inspect.Parameter.empty
                   and p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)]
        if unknown:
            raise TypeError(
                f"scorer {self.name!r} has parameters {unknown} it cannot be given: a scorer takes any of "
                f"{', '.join(SCORER_ARGUMENTS)} (by those names)"
            )
        self._arguments = SCORER_ARGUMENTS if takes_all else tuple(n for n in SCORER_ARGUMENTS if n in parameters)
        self.needs_trace = "trace" in self._arguments
        _copy_function_metadata(self, func)

    def score(self, *, inputs: Any, outputs: Any, expectations: Mapping[str, Any], trace: Trace | None) -> Any:
        """Call the function with the arguments it takes."""
        given = {"inputs": inputs, "outputs": outputs, "expectations": expectations, "trace": trace}
        return self.func(**{name: given[name] for name in self._arguments})


def _copy_function_metadata(wrapper: Any, func: Callable[..., Any]) -> None:
    """Give the scorer object the function's docstring and module, for help() and repr."""
    wrapper.__doc__ = func.__doc__
    wrapper.__module__ = getattr(func, "__module__", wrapper.__module__)


@overload
def scorer(func: Callable[..., Any], /) -> FunctionScorer: ...


@overload
def scorer(func: None = None, /, *, name: str | None = None) -> Callable[[Callable[..., Any]], FunctionScorer]: ...


def scorer(func: Callable[..., Any] | None = None, /, *, name: str | None = None) -> Any:
    """Make a scorer from a function taking any of ``inputs``, ``outputs``, ``expectations``, ``trace``.

    Use bare (``@scorer``) or named (``@scorer(name="concise")``). The function returns a bool,
    a number, a string, a ``Feedback`` or a list of ``Feedback``; its assessments have source
    ``CODE`` with the scorer's name as the id.
    """
    if func is not None:
        return FunctionScorer(func, name=name)
    return lambda f: FunctionScorer(f, name=name)


def run_scorer(active: Scorer, *, inputs: Any, outputs: Any, expectations: Mapping[str, Any],
               trace: Trace | None) -> list[Assessment]:
    """Run one scorer on one row; its answer, or its failure, as a list of feedback assessments."""
    try:
        answer = active.score(inputs=inputs, outputs=outputs, expectations=expectations, trace=trace)
        return _assessments_from(active, answer)
    except Exception as exc:  # noqa: BLE001 - a failing scorer marks its row, never the run
        return [Feedback(name=active.name, error=exc, source=active.source)]


def _assessments_from(active: Scorer, answer: Any) -> list[Assessment]:
    if isinstance(answer, (list, tuple)) and answer and all(isinstance(item, Assessment) for item in answer):
        return [_own(active, item) for item in answer]
    if isinstance(answer, Assessment):
        return [_own(active, answer)]
    if answer is None:
        raise ValueError(f"scorer {active.name!r} returned None; return a bool, number, string or Feedback")
    if isinstance(answer, (bool, int, float, str)):
        return [Feedback(name=active.name, value=answer, source=active.source)]
    raise ValueError(
        f"scorer {active.name!r} returned a {type(answer).__name__}; return a bool, number, string, Feedback "
        "or a list of Feedback"
    )


def _own(active: Scorer, item: Assessment) -> Assessment:
    if item.type != FEEDBACK:
        raise ValueError(f"scorer {active.name!r} returned an expectation; scorers return Feedback")
    if item.source == _DEFAULT_SOURCE:
        item = dataclasses.replace(item, source=active.source)
    return item
