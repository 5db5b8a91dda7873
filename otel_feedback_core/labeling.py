"""Labeling sessions: the states of one reviewer on one item, as the collector stores them and
the SDK's ``LabelingItem`` reports them."""

from __future__ import annotations

from enum import Enum


class ItemState(str, Enum):
    """Where one reviewer is with one item."""

    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    SKIPPED = "SKIPPED"

    def __str__(self) -> str:
        return self.value
