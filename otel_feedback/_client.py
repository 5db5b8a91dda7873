"""A tiny JSON client for the collector's REST API (``/api/v1``), on the standard library.

It talks to ``settings.endpoint`` (what ``configure(endpoint)`` was given) with
``settings.headers`` (the bearer token), and maps the API's error answers to exceptions at this
boundary, so callers see one small exception tree:

* ``InvalidRequest`` (also a ``ValueError``): 400 / 422, with the server's message;
* ``NotFound`` (also a ``LookupError``): 404, e.g. an unknown trace or assessment id;
* ``Unauthorized`` (also a ``PermissionError``): 401, a missing or wrong token;
* ``CollectorBusy``: 429 / 503, with the ``retry_after`` seconds the server asked for;
* ``CollectorUnavailable`` (also a ``ConnectionError``): nothing answers at the URL.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from otel_feedback._config import settings
from otel_feedback_core.retry_after import parse_retry_after

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = 30.0


class CollectorError(Exception):
    """The collector answered a REST call with an error (``status`` and ``code`` say which)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class InvalidRequest(CollectorError, ValueError):
    """The collector refused the request's content (400 or 422); nothing was stored."""


class NotFound(CollectorError, LookupError):
    """The collector has no such trace, span or assessment (404)."""


class Unauthorized(CollectorError, PermissionError):
    """The collector wants a (different) token: ``configure(endpoint, token=...)``."""


class CollectorBusy(CollectorError):
    """The collector is overloaded (429 or 503); retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class CollectorUnavailable(CollectorError, ConnectionError):
    """No collector answered at the configured URL."""


def api_base_url() -> str:
    """The collector's base URL, as given to ``configure(endpoint)``."""
    endpoint = settings.endpoint
    if not endpoint:
        raise CollectorUnavailable(
            "No collector is configured: call otel_feedback.configure('http://127.0.0.1:4318') first."
        )
    endpoint = endpoint.rstrip("/")
    if "://" not in endpoint:
        endpoint = f"http://{endpoint}"
    return endpoint


def request_json(
    method: str,
    path: str,
    *,
    body: Any = None,
    query: Mapping[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Any:
    """Call ``{endpoint}/api/v1{path}`` and return the decoded JSON answer.

    ``path`` segments that came from the user must already be validated or quoted by the
    caller (``quote_segment``). Errors become the exceptions listed in this module's docstring.
    """
    url = api_base_url() + API_PREFIX + path
    if query:
        url += "?" + urllib.parse.urlencode({k: _query_value(v) for k, v in query.items() if v is not None})
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {"Accept": "application/json", **settings.headers}
    if data is not None:
        headers["Content-Type"] = "application/json; charset=utf-8"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) URL built above
            payload = response.read()
    except urllib.error.HTTPError as error:
        raise _error_from_response(error, method, url) from None
    except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise CollectorUnavailable(
            f"Could not reach the collector at {url} ({reason}). Is `otel-feedback serve` running there, "
            "and is that the endpoint given to otel_feedback.configure()?"
        ) from None
    if not payload:
        return None
    return json.loads(payload)


def quote_segment(value: str) -> str:
    """``value`` safe to put in one URL path segment."""
    return urllib.parse.quote(value, safe="")


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _error_from_response(error: urllib.error.HTTPError, method: str, url: str) -> CollectorError:
    status = error.code
    raw = error.read() or b""
    code: str | None = None
    message = ""
    try:
        detail = json.loads(raw)["error"]
        code = detail.get("code")
        message = str(detail.get("message") or "")
    except (ValueError, KeyError, TypeError, AttributeError):
        message = raw.decode("utf-8", errors="replace").strip()[:500]
    message = message or f"{method} {url} answered HTTP {status}."
    if status in (400, 422):
        return InvalidRequest(message, status=status, code=code)
    if status == 404:
        return NotFound(message, status=status, code=code)
    if status in (401, 403):
        return Unauthorized(
            f"{message} (pass the collector's token: otel_feedback.configure(endpoint, token=...))",
            status=status, code=code,
        )
    if status in (429, 503):
        retry_after = parse_retry_after(error.headers.get("Retry-After") if error.headers else None)
        return CollectorBusy(message, status=status, code=code, retry_after=retry_after)
    return CollectorError(f"{method} {url} failed with HTTP {status}: {message}", status=status, code=code)


