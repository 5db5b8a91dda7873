"""Shipping finished Parquet files to S3-compatible object storage (``otel-feedback ship``).

``ship_once`` runs one pass (upload new files, then the shipped manifest, then delete retired
objects after a grace period); ``shipped_files`` gives a reader the files the shipped manifest
lists. docs/scaling.md explains the order and what a reader of the bucket sees.
"""

from __future__ import annotations

from otel_feedback_collector.shipping.destination import (
    BucketMissing,
    Destination,
    describe_store_error,
    open_filesystem,
    parse_destination,
)
from otel_feedback_collector.shipping.sync import (
    DEFAULT_GRACE_SECONDS,
    ShipError,
    ShipResult,
    read_shipped_manifest,
    ship_once,
    shipped_files,
)

__all__ = [
    "BucketMissing",
    "DEFAULT_GRACE_SECONDS",
    "Destination",
    "ShipError",
    "ShipResult",
    "describe_store_error",
    "open_filesystem",
    "parse_destination",
    "read_shipped_manifest",
    "ship_once",
    "shipped_files",
]
