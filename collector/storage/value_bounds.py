"""The ranges the Parquet columns hold, and how a value outside them is stored instead.

OTLP allows values the storage schema cannot hold: ``fixed64`` times up to 2^64-1 nanoseconds,
doubles that are infinite or NaN, token counts sent as any number or string. Such a value is
never a reason to refuse or lose a span, and never a reason for the writer to fail later, so
every promoted column goes through one of these functions (docs/storage.md, "Out-of-range
values"):

- a time outside ``0 .. 2^63-1`` nanoseconds (year 2262) is clamped into it; the span keeps
  its original value as text in ``otel_feedback.original.<field>`` of its attributes;
- a token count that is not a finite, non-negative whole number within int64 is NULL (the raw
  value stays in the ``attributes`` JSON); a total that would overflow int64 is NULL;
- a number that cannot be a float64 (a 400-digit integer, infinity, NaN) has no numeric column
  value (NULL); it stays in the JSON text column.
"""

from __future__ import annotations

import math
from typing import Any

INT64_MAX = 2**63 - 1
# Attribute prefix under which a clamped value's original is kept, as decimal text.
ORIGINAL_VALUE_PREFIX = "otel_feedback.original."


def clamped_time_ns(value: int) -> int:
    """``value`` (Unix nanoseconds) clamped into what an int64 column and a timestamp hold."""
    if value < 0:
        return 0
    return value if value <= INT64_MAX else INT64_MAX


def token_count(value: Any) -> int | None:
    """A token count as a non-negative int64, or None when ``value`` is not one.

    Ints, whole or fractional finite floats (truncated) and numeric strings ("12", "12.0")
    count; booleans, negatives, infinities, NaN and anything beyond int64 do not.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        try:
            as_float = float(value)
        except (TypeError, ValueError, OverflowError):
            return None
        if not math.isfinite(as_float):
            return None
        number = int(as_float)
    return number if 0 <= number <= INT64_MAX else None


def token_total(first: int | None, second: int | None) -> int | None:
    """The sum of two token counts, or None when either is missing or the sum overflows int64."""
    if first is None or second is None:
        return None
    total = first + second
    return total if total <= INT64_MAX else None


def finite_float(value: Any) -> float | None:
    """``value`` as a finite float64 when it is a number that has one, else None."""
    if not isinstance(value, (int, float)):  # bool is an int: True counts as 1.0
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond float64's range
        return None
    return number if math.isfinite(number) else None
