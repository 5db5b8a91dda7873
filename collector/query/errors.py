"""The one error the query package raises for bad user input."""

from __future__ import annotations


class FilterError(ValueError):
    """A filter, order_by or page token could not be used; the message points at the bad token."""
