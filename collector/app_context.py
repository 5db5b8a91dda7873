"""``AppContext``: what every route provider gets (the store, the export pipeline, the settings).

It sits in its own module so that :mod:`otel_feedback_collector.app`, which mounts the route
providers, and the route modules, which take the context, both import it without importing each
other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.routing import BaseRoute

from otel_feedback_collector.access.allowed_hosts import LOOPBACK_NAMES
from otel_feedback_collector.otlp.inflight import InflightBudget
from otel_feedback_collector.otlp.ingest import ExportPipeline
from otel_feedback_collector.pricing import PriceTable


@dataclass(frozen=True)
class AppContext:
    """What route providers get: the store, the export pipeline and the server settings."""

    store: Any
    pipeline: ExportPipeline
    data_dir: Path | None
    max_body_bytes: int
    max_pending_requests: int = 32
    body_read_timeout: float = 60.0
    # Browser origins allowed to call /api/ (CORS); empty means same-origin only.
    cors_origins: tuple[str, ...] = ()
    # Names the Host header may carry (DNS-rebinding guard); see otel_feedback_collector.access.allowed_hosts.
    allowed_hosts: tuple[str, ...] = LOOPBACK_NAMES
    # Memory budget for export bodies in progress, shared with gRPC (None: a default budget).
    inflight: InflightBudget | None = None
    # Model prices for the UI's cost figures (None: the built-in table, see otel_feedback_collector.pricing).
    prices: PriceTable | None = None


RouteProvider = Callable[[AppContext], Sequence[BaseRoute]]
"""A function from the context to the routes it adds to the app."""
