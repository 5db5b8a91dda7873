"""JSON out: how values read from DuckDB/Arrow become JSON, and the API's response class.

Timestamps become RFC 3339 UTC strings with microseconds (``2026-11-26T15:00:00.123456Z``);
DuckDB's 128-bit sums (decimals) become integers. Strings are emitted as JSON strings, never
interpreted, and ``X-Content-Type-Options: nosniff`` stops a browser from sniffing a body as HTML.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Mapping
from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import Response

JSON_MEDIA_TYPE = "application/json; charset=utf-8"


def rfc3339(moment: dt.datetime) -> str:
    """``2026-11-26T15:00:00.123456Z`` for an aware or UTC-naive datetime."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"


def summary_to_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A trace row as the REST API's TraceSummary: times as RFC 3339 UTC strings, the rest as is."""
    return {key: rfc3339(value) if isinstance(value, dt.datetime) else value for key, value in row.items()}


def rfc3339_from_unix_nano(unix_nano: int) -> str:
    """Nanoseconds since the epoch as an RFC 3339 UTC string (microsecond precision)."""
    seconds, nanos = divmod(unix_nano, 1_000_000_000)
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
    return rfc3339(moment.replace(microsecond=nanos // 1000))


def json_ready(value: Any) -> Any:
    """``value`` with datetimes as RFC 3339 strings and decimals as numbers (recursively)."""
    if isinstance(value, dt.datetime):
        return rfc3339(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    return value


class JsonResponse(Response):
    """``application/json; charset=utf-8``, UTF-8 kept as is, no NaN (it is not JSON)."""

    media_type = JSON_MEDIA_TYPE

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        merged = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", **(headers or {})}
        super().__init__(content, status_code, merged, self.media_type, background)

    def render(self, content: Any) -> bytes:
        """Serialize ``content`` compactly; datetimes and decimals via :func:`json_ready`."""
        return json.dumps(
            json_ready(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")
