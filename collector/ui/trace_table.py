"""The traces table: what the page's controls mean, as a filter-language search, and its cells.

The controls (a text search, status, span type, one assessment condition, an advanced filter,
the sort column and the page token) arrive as query parameters. :func:`table_filter` turns them
into one filter-language string (docs/search.md) that :func:`otel_feedback_collector.query.find_traces` runs,
so the table and the REST API share one search. Every value is written as a quoted literal;
nothing the user typed becomes a field name unless it is a valid assessment name.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

STATUSES = ("OK", "ERROR", "UNSET")
# Text search matches at most this many traces (the ids join the filter as an IN list).
TEXT_MATCH_LIMIT = 1000
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

# (column of the traces view, header) — the sortable columns.
SORTABLE_COLUMNS = {
    "start_time": "Time",
    "duration_ms": "Duration",
    "status": "Status",
    "total_tokens": "Tokens",
    "span_count": "Spans",
    "name": "Name",
}
DEFAULT_ORDER = ("start_time", "DESC")

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


@dataclass(frozen=True)
class TableControls:
    """The traces table's controls as given in the query string (all optional)."""

    text: str = ""
    status: str = ""
    span_type: str = ""
    assessment_name: str = ""
    assessment_value: str = ""
    advanced_filter: str = ""
    sort: str = DEFAULT_ORDER[0]
    direction: str = DEFAULT_ORDER[1]
    page_token: str | None = None
    page_size: int = PAGE_SIZE

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> TableControls:
        """Read the controls from query parameters; unknown sort columns fall back to time."""
        sort = query.get("sort", DEFAULT_ORDER[0])
        direction = query.get("dir", DEFAULT_ORDER[1]).upper()
        return cls(
            text=query.get("q", "").strip(),
            status=query.get("status", "") if query.get("status", "") in STATUSES else "",
            span_type=query.get("span_type", "").strip(),
            assessment_name=query.get("a_name", "").strip(),
            assessment_value=query.get("a_value", "").strip(),
            advanced_filter=query.get("filter", "").strip(),
            sort=sort if sort in SORTABLE_COLUMNS else DEFAULT_ORDER[0],
            direction=direction if direction in ("ASC", "DESC") else DEFAULT_ORDER[1],
            page_token=query.get("page_token") or None,
            page_size=_page_size(query.get("per_page", "")),
        )

    @property
    def order_by(self) -> str:
        """The search's ``order_by``."""
        return f"{self.sort} {self.direction}"

    def query_for(self, **changes: str | None) -> dict[str, str]:
        """These controls as query parameters, with ``changes`` (None drops a parameter)."""
        params = {
            "q": self.text,
            "status": self.status,
            "span_type": self.span_type,
            "a_name": self.assessment_name,
            "a_value": self.assessment_value,
            "filter": self.advanced_filter,
            "sort": self.sort,
            "dir": self.direction,
            "per_page": str(self.page_size) if self.page_size != PAGE_SIZE else "",
        }
        params.update({key: value for key, value in changes.items() if value is not None})
        for key, value in changes.items():
            if value is None:
                params.pop(key, None)
        return {key: value for key, value in params.items() if value}


def _page_size(raw: str) -> int:
    try:
        size = int(raw)
    except ValueError:
        return PAGE_SIZE
    return min(max(size, 1), MAX_PAGE_SIZE)


def quote_literal(text: str) -> str:
    """A filter-language string literal (a quote inside is doubled)."""
    return "'" + text.replace("'", "''") + "'"


def assessment_field(name: str) -> str:
    """``assessments.<name>``, back-quoted when the name is not a plain word."""
    if _PLAIN_NAME.fullmatch(name):
        return f"assessments.{name}"
    if "`" in name:
        raise ValueError(f"The assessment name {name!r} contains a backtick; filter on it in the advanced filter.")
    return f"assessments.`{name}`"


def value_literal(text: str) -> str:
    """What the user typed as an assessment value: true/false/null and numbers as such, else text."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered
    if lowered in ("null", "none", "empty"):
        return "null"
    try:
        number = float(text)
    except ValueError:
        return quote_literal(text)
    return text if math.isfinite(number) else quote_literal(text)


def table_filter(controls: TableControls, *, text_matches: Sequence[str] | None) -> str:
    """The filter-language string of the controls; ``text_matches`` are the ids the text search
    found (None when there is no text search)."""
    clauses: list[str] = []
    if controls.advanced_filter:
        clauses.append(controls.advanced_filter)
    if controls.status:
        clauses.append(f"status = {quote_literal(controls.status)}")
    if controls.span_type:
        clauses.append(f"span_type = {quote_literal(controls.span_type)}")
    if controls.assessment_name:
        field = assessment_field(controls.assessment_name)
        if controls.assessment_value:
            clauses.append(f"{field} = {value_literal(controls.assessment_value)}")
        else:
            clauses.append(f"{field} IS NOT NULL")
    if text_matches is not None:
        ids = list(text_matches) or ["0" * 32]  # no match: an id no trace has
        clauses.append("trace_id IN (" + ", ".join(quote_literal(trace_id) for trace_id in ids) + ")")
    return " AND ".join(clauses)


@dataclass(frozen=True)
class AssessmentCell:
    """How one assessment value shows in the table."""

    text: str
    kind: str  # "up", "down", "number", "text", "json" — a CSS class suffix
    icon: str = ""  # drawn before the text, hidden from screen readers; the text alone says it all


def assessment_cell(value: Any) -> AssessmentCell:
    """Booleans as "Yes" / "No" with a thumb (a machine without an emoji font still reads the
    word), numbers as numbers, text as text, anything else as compact JSON."""
    if isinstance(value, bool):
        return AssessmentCell("Yes", "up", "👍") if value else AssessmentCell("No", "down", "👎")
    if isinstance(value, (int, float)):
        return AssessmentCell(f"{value:g}" if isinstance(value, float) else str(value), "number")
    if isinstance(value, str):
        return AssessmentCell(value, "text")
    return AssessmentCell(json.dumps(value, ensure_ascii=False, separators=(",", ":")), "json")


def assessment_columns(rows: Sequence[Mapping[str, Any]], expectations: Collection[str] = ()) -> list[str]:
    """The assessment names present on this page, one table column each: feedback first (the
    judgements people scan for), then ``expectations`` (long ground-truth texts), each sorted."""
    names = {name for row in rows for name in (row.get("assessments") or {})}
    return sorted(names, key=lambda name: (name in expectations, name))


def format_duration(milliseconds: float | None) -> str:
    """``812 ms``, ``3.41 s``, ``2 min 5 s``."""
    if milliseconds is None:
        return ""
    if milliseconds < 1000:
        return f"{milliseconds:.0f} ms" if milliseconds >= 10 else f"{milliseconds:.2g} ms"
    seconds = milliseconds / 1000
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"
