"""The REST API's error answers: one JSON shape for every failure, one exception to raise it.

Every error body is ``{"error": {"code": ..., "message": ...}}`` (see docs/api.md). Route code
raises :class:`ApiError`; :func:`api_endpoint` turns it — and any unexpected exception, which is
also logged — into that body, so no handler can answer with a traceback or an HTML page.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Awaitable, Callable, Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from otel_feedback_collector.api.encoding import JsonResponse
from otel_feedback_collector.storage.errors import IndexRebuilding

logger = logging.getLogger("otel_feedback_collector.api")

BAD_REQUEST = "BAD_REQUEST"
UNAUTHORIZED = "UNAUTHORIZED"
NOT_FOUND = "NOT_FOUND"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
UNPROCESSABLE = "UNPROCESSABLE"
BUSY = "BUSY"
INTERNAL = "INTERNAL"

_CODE_FOR_STATUS = {
    400: BAD_REQUEST,
    401: UNAUTHORIZED,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    408: REQUEST_TIMEOUT,
    413: PAYLOAD_TOO_LARGE,
    415: UNSUPPORTED_MEDIA_TYPE,
    422: UNPROCESSABLE,
    429: BUSY,
    503: BUSY,
}


class ApiError(Exception):
    """A request the API answers with an error status and a plain-sentence message."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODE_FOR_STATUS.get(status, INTERNAL)
        self.message = message
        self.retry_after = retry_after


def error_response(
    status: int, message: str, *, code: str | None = None, headers: Mapping[str, str] | None = None
) -> JsonResponse:
    """The JSON error answer: ``{"error": {"code", "message"}}`` with ``status``."""
    body = {"error": {"code": code or _CODE_FOR_STATUS.get(status, INTERNAL), "message": message}}
    return JsonResponse(body, status_code=status, headers=dict(headers or {}))


def api_error_response(error: ApiError) -> JsonResponse:
    """The JSON answer for an :class:`ApiError` (with ``Retry-After`` when it has one)."""
    headers = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    return error_response(error.status, error.message, code=error.code, headers=headers)


Endpoint = Callable[[Request], Awaitable[Response]]


def api_endpoint(handler: Endpoint) -> Endpoint:
    """Wrap a route handler so every failure becomes the JSON error shape (and is logged if
    unexpected)."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as error:
            return api_error_response(error)
        except IndexRebuilding as error:
            return api_error_response(ApiError(503, str(error), retry_after=error.retry_after))
        except Exception:
            logger.exception("%s %s failed.", request.method, request.url.path)
            return error_response(
                500,
                "The collector failed to answer this request; nothing was changed unless the "
                "answer said so. See the collector's log for the cause, then retry.",
            )

    return endpoint


async def http_exception_handler(_request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown path, wrong method) in the API's JSON shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = "There is no such API endpoint; GET /api/openapi.json lists them."
    elif exc.status_code == 405:
        message = "This endpoint does not accept that method; GET /api/openapi.json lists the methods."
    else:
        message = str(exc.detail)
    return error_response(exc.status_code, message, headers=exc.headers)
