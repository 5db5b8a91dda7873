"""Setting the output attributes of an SDK span without re-validating them.

``Span.set_attribute`` cleans every value through the SDK's generic validator and takes two
locks per call. For the two or three output attributes ``@trace`` adds to each span, that is
most of the decorator's cost over a bare span (see bench/decorator_overhead.py). The values
we add here are plain ``str``/``bool`` that we built ourselves, so the validation cannot
change them: we add them to the span's attribute dict under the span's lock, exactly as
``set_attribute`` would have stored them.

This touches SDK internals, so it only runs when every structure is the one we checked for
(an SDK span, ``BoundedAttributes``, no value-length limit, room under the count limit, span
not ended). Anything else, and any surprise at all, goes through the public API, and a
surprise turns the fast path off for the rest of the process.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace as trace_api

logger = logging.getLogger(__name__)

try:
    from opentelemetry.attributes import BoundedAttributes
    from opentelemetry.sdk.trace import Span as _SdkSpan
except ImportError:  # pragma: no cover - the SDK is a dependency, but stay safe
    BoundedAttributes = None  # type: ignore[assignment,misc]
    _SdkSpan = None  # type: ignore[assignment,misc]

_fast_path_enabled = BoundedAttributes is not None and _SdkSpan is not None


def set_plain_attributes(span: trace_api.Span, attributes: Mapping[str, str | bool]) -> None:
    """Set ``attributes`` (str or bool values only) on ``span``, as ``set_attributes`` would."""
    global _fast_path_enabled
    if _fast_path_enabled and isinstance(span, _SdkSpan):
        try:
            if _set_directly(span, attributes):
                return
        except Exception:  # noqa: BLE001 - an SDK that changed shape: use the public API from now on
            _fast_path_enabled = False
            logger.debug("otel_feedback: direct attribute path disabled", exc_info=True)
    span.set_attributes(attributes)


def _set_directly(span: Any, attributes: Mapping[str, str | bool]) -> bool:
    bounded = span._attributes
    if type(bounded) is not BoundedAttributes or bounded.max_value_len is not None:
        return False
    with span._lock:
        if span._end_time is not None:
            return False
        with bounded._lock:
            store = bounded._dict
            if bounded.maxlen is not None and len(store) + len(attributes) > bounded.maxlen:
                return False
            store.update(attributes)
    return True
