"""Opaque page tokens: the offset of the next page, tied to the search that produced it.

A token is base64url JSON ``{"o": offset, "q": fingerprint}``. The fingerprint is a short hash
of the filter, experiment and order, so a token reused with a different search is refused
instead of silently returning rows from the wrong listing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from otel_feedback_collector.query.errors import FilterError

# No listing is longer than this; a larger offset can only come from an edited token, and it would
# overflow DuckDB's OFFSET (a 500) instead of being answered as the bad input it is.
MAX_OFFSET = 10**12
_NOT_OURS = "page_token is not valid: pass back the next_page_token of the previous answer unchanged."


def search_fingerprint(*parts: Any) -> str:
    """A short stable hash of the search parameters a token belongs to."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_page_token(offset: int, fingerprint: str) -> str:
    """The token for the page starting at ``offset``."""
    raw = json.dumps({"o": offset, "q": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str | None, fingerprint: str) -> int:
    """The offset a token stands for (0 for no token); ``FilterError`` when it is not ours."""
    if token is None or token == "":
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = data["o"]
        token_fingerprint = data["q"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise FilterError(_NOT_OURS) from None
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        raise FilterError(_NOT_OURS)
    if token_fingerprint != fingerprint:
        raise FilterError(
            "page_token belongs to a different search (filter, experiment or order_by changed); "
            "start again without a page_token."
        )
    return offset
