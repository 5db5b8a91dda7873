"""The collector's web UI: experiments, the traces table and the trace view with assessments.

``ui_routes(context)`` is the route provider :mod:`collector.app` mounts;
``cross_site_middleware(origins)`` is the cross-site request protection for ``/api/`` and
``/ui/`` writes (:mod:`collector.ui.cross_site`). docs/ui.md describes the pages.
"""

from __future__ import annotations

from collector.ui.cross_site import CrossSiteRequestMiddleware, cross_site_middleware
from collector.ui.routes import ui_routes

__all__ = ["CrossSiteRequestMiddleware", "cross_site_middleware", "ui_routes"]
