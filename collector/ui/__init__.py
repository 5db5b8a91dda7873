"""The collector's web UI: experiments, the traces table and the trace view with assessments.

``ui_routes(context)`` is the route provider :mod:`otel_feedback_collector.app` mounts;
``cross_site_middleware(origins)`` is the cross-site request protection for ``/api/`` and
``/ui/`` writes (:mod:`otel_feedback_collector.ui.cross_site`). docs/ui.md describes the pages.
"""

from __future__ import annotations

from otel_feedback_collector.ui.cross_site import CrossSiteRequestMiddleware, cross_site_middleware
from otel_feedback_collector.ui.routes import ui_routes

__all__ = ["CrossSiteRequestMiddleware", "cross_site_middleware", "ui_routes"]
