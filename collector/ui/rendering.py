"""HTML responses of the web UI: one Jinja2 environment with autoescaping ON, and the headers
every page carries.

SECURITY RULE: templates never mark data safe (no ``|safe``, no ``Markup``) — every string
from a span, an assessment or a request is escaped. The Content-Security-Policy allows scripts
and styles from this origin only (no inline script), so even a missed escape could not run.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
from starlette.responses import HTMLResponse

from otel_feedback_collector.pricing import format_cost
from otel_feedback_collector.ui.trace_table import assessment_cell, format_duration

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PATH = "/ui/static"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.globals["static"] = STATIC_PATH
_environment.filters["duration"] = format_duration
_environment.filters["assessment_cell"] = assessment_cell
_environment.filters["cost"] = format_cost
# An assessment column in the traces table's column chooser: (column key, label).
_environment.filters["chooser_entry"] = lambda name: ("a:" + name, name)


def format_time(moment: dt.datetime | None) -> str:
    """A timestamp as ``2026-11-26 15:00:01 UTC`` (empty for None)."""
    if moment is None:
        return ""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


_environment.filters["time"] = format_time


def clip_text(value: Any, limit: int = 300) -> str:
    """``value`` as text, cut to ``limit`` characters with an ellipsis: a span name can be
    megabytes, and a browser lays out a heading or a title in one piece."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


_environment.filters["clip"] = clip_text


def render_page(template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page ``template`` rendered with ``context`` (escaped), with the security headers."""
    html = _environment.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
