"""Who may reach the collector's HTTP side: the Host allow-list and the read/write token rule."""

from __future__ import annotations

from otel_feedback_collector.access.allowed_hosts import (
    ALLOWED_HOSTS_ENV,
    LOOPBACK_NAMES,
    AllowedHostsMiddleware,
    allowed_hosts_for,
    parse_allowed_host,
)

__all__ = [
    "ALLOWED_HOSTS_ENV",
    "LOOPBACK_NAMES",
    "AllowedHostsMiddleware",
    "allowed_hosts_for",
    "parse_allowed_host",
]
