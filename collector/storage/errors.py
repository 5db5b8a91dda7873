"""The storage engine's exceptions."""

from __future__ import annotations


class StoreBusy(Exception):
    """The write path is full; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailable(Exception):
    """The store could not make a write durable (disk full, no inodes left, a failed fsync);
    nothing was acknowledged, so the sender should retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float = 5.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreLocked(Exception):
    """Another collector process already writes to this data directory."""


class IndexRebuilding(Exception):
    """A read the Parquet files alone cannot answer within the memory allowed, asked while the
    trace index is being rebuilt (live_reads.py); retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float = 15.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
