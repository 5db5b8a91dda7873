"""Reading JSON text that came from a sender, with a bound on how deeply it may nest.

Span attributes and assessment values are often JSON held in a string (``input.value``,
MLflow's JSON-encoded attributes, an assessment's value). A sender may put anything there,
including ``[`` fifty thousand times: parsing that raises ``RecursionError``, and a value parsed
a thousand levels deep breaks whatever walks it next (encoders, templates). So text nested
deeper than :data:`MAX_JSON_DEPTH` is not treated as JSON: it stays the string it was. So does
text that only Python calls JSON (``NaN``, ``Infinity``) or whose numbers overflow a double
(``1e400``): parsed, they would be floats that no JSON answer can carry.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Deep enough for any real message list or tool call; far below Python's recursion limit.
MAX_JSON_DEPTH = 100


class TooDeep(ValueError):
    """JSON text nests deeper than :data:`MAX_JSON_DEPTH`."""


def parse_json_text(text: str | bytes, **options: Any) -> Any:
    """``json.loads(text, **options)``, raising ``ValueError`` (:class:`TooDeep`) for text nested
    deeper than :data:`MAX_JSON_DEPTH` as well as for text that is not standard JSON or holds a
    number beyond a double's range."""
    try:
        if not options and isinstance(text, str):
            # The common call: one decoder made once (``json.loads`` with options builds a new
            # one per call, which cost more than parsing a short attribute value).
            value = _DECODER.decode(text)
        else:
            options.setdefault("parse_constant", _refuse_constant)
            options.setdefault("parse_float", _finite_float)
            value = json.loads(text, **options)
    except RecursionError:
        raise TooDeep(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels") from None
    if _may_be_deep(text) and json_depth(value) > MAX_JSON_DEPTH:
        raise TooDeep(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def decode_json_text(text: Any) -> Any:
    """``text`` parsed as JSON when it is JSON (and not nested too deeply), else unchanged:
    plain text stays text."""
    if not isinstance(text, str):
        return text
    try:
        return parse_json_text(text)
    except ValueError:
        return text


def json_depth(value: Any) -> int:
    """How deeply lists and dicts nest in ``value`` (0 for a scalar); walks without recursion
    and stops counting just past :data:`MAX_JSON_DEPTH`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, (list, tuple)):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list, tuple)))
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not standard JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:40]} is beyond the range of a double")
    return number


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def _may_be_deep(text: str | bytes) -> bool:
    """Cheap pre-check: fewer brackets than the limit cannot nest beyond it."""
    if isinstance(text, str):
        return text.count("[") + text.count("{") > MAX_JSON_DEPTH
    return text.count(b"[") + text.count(b"{") > MAX_JSON_DEPTH
