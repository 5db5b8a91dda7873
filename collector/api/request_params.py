"""Path and query parameters of API requests, validated with the SDK's id rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from otel_feedback_core.assessments import validate_assessment_id
from otel_feedback_collector.api.errors import ApiError
from otel_feedback_core.assessments import validate_trace_id

_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no", "")


def trace_id_param(request: Request) -> str:
    """The ``{trace_id}`` path parameter, lowercased; 404 when it cannot be a trace id."""
    return _path_id(request, "trace_id", validate_trace_id, what="trace")


def assessment_id_param(request: Request) -> str:
    """The ``{assessment_id}`` path parameter; 404 when it cannot be an assessment id."""
    return _path_id(request, "assessment_id", validate_assessment_id, what="assessment")


def bool_query(request: Request, name: str, *, default: bool = False) -> bool:
    """A ``true``/``false`` query parameter; 400 for anything else."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ApiError(400, f"The query parameter {name} must be true or false; got {raw!r}.")


def _path_id(request: Request, name: str, validate: Callable[[Any], str], *, what: str) -> str:
    raw = request.path_params[name]
    try:
        return validate(raw)
    except ValueError as exc:
        raise ApiError(404, f"There is no {what} {raw!r}: {exc}.") from None
