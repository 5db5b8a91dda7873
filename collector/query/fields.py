"""The fields a filter may name, and the SQL each clause becomes.

SAFETY RULE: field names come only from the whitelists below (a name that is not listed is a
``FilterError``), and every literal, assessment name and JSON key travels as a bound parameter.
No text from the user is ever put into the SQL string: the only SQL text produced here is
fixed fragments and column names taken from these dictionaries.

Field kinds:

* a column of the ``traces`` view (``status``, ``start_time``, ``total_tokens``...), compared
  with the literal kind that suits the column (text, number, timestamp-as-string);
* ``span_type`` / ``span.<column>``: true when ANY span of the trace matches;
* ``assessments.<name>``, ``feedback.<name>``, ``expectations.<name>``: the current value of that
  assessment on the trace (the newest when several), compared by the literal's kind: booleans
  with ``= true/false``, numbers numerically, strings as text;
* ``metadata.<key>`` / ``tags.<key>``: a key of the root span's ``metadata`` JSON attribute
  or of its trace tags (``otel_feedback.trace.tags``), compared like assessment values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from otel_feedback_collector.query.errors import FilterError
from otel_feedback_core import layout
from otel_feedback_collector.query.filter_parser import Clause, Literal


class ValueKind(str, Enum):
    """How a column's values compare."""

    TEXT = "text"
    NUMBER = "number"
    TIME = "timestamp"


_KINDS = {"string": ValueKind.TEXT, "timestamp": ValueKind.TIME, "double": ValueKind.NUMBER, "int64": ValueKind.NUMBER}
TRACE_COLUMNS: dict[str, ValueKind] = {name: _KINDS[kind] for name, kind in layout.TRACE_COLUMNS.items()}
TRACE_COLUMN_ALIASES = {"request": "request_preview", "response": "response_preview"}

SPAN_COLUMNS: dict[str, ValueKind] = {
    "name": ValueKind.TEXT,
    "span_type": ValueKind.TEXT,
    "type": ValueKind.TEXT,
    "model": ValueKind.TEXT,
    "status": ValueKind.TEXT,
    "span_kind": ValueKind.TEXT,
    "duration_ms": ValueKind.NUMBER,
    "total_tokens": ValueKind.NUMBER,
}
_SPAN_COLUMN_SQL = {"type": "span_type", "status": "status_code"}

# prefix -> assessment type it is restricted to (None: either)
ASSESSMENT_PREFIXES: dict[str, str | None] = {
    "assessments": None,
    "assessment": None,
    "feedback": "feedback",
    "expectations": "expectation",
    "expectation": "expectation",
}
# prefix -> SQL giving the JSON object the key is looked up in, from a root span's attributes
ROOT_ATTRIBUTE_OBJECTS: dict[str, str] = {
    "metadata": "json_extract_string(attributes, '$.metadata')",
    "tags": "json_extract_string(attributes, '$.\"otel_feedback.trace.tags\"')",
}

# The current value of each assessment name on each trace: the newest create/override row
# that nothing overrides or deletes (the ``current_assessments`` view, storage/views.py).
CURRENT_ASSESSMENTS_CTE = """_current_assessments AS (
    SELECT trace_id, name, type, value FROM current_assessments
)"""

_NUMERIC_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})


@dataclass
class Condition:
    """A SQL boolean expression over the ``traces`` row aliased ``t``, with its parameters."""

    sql: str
    params: list[Any] = field(default_factory=list)
    needs_current_assessments: bool = False


def clause_condition(clause: Clause) -> Condition:
    """Translate one parsed clause into SQL with bound parameters (or raise ``FilterError``)."""
    head, rest = clause.field[0], clause.field[1:]
    lowered = head.lower()
    if not rest:
        column = TRACE_COLUMN_ALIASES.get(lowered, lowered)
        if column in TRACE_COLUMNS:
            sql, params = _column_test(f"t.{column}", TRACE_COLUMNS[column], clause)
            return Condition(sql, params)
        if lowered == "span_type":
            return _span_type(clause)
    elif lowered == "span" and len(rest) == 1 and rest[0].lower() in SPAN_COLUMNS:
        column = rest[0].lower()
        return _any_span(clause, _SPAN_COLUMN_SQL.get(column, column), SPAN_COLUMNS[column])
    elif lowered in ASSESSMENT_PREFIXES:
        return _assessment(clause, ".".join(rest), ASSESSMENT_PREFIXES[lowered])
    elif lowered in ROOT_ATTRIBUTE_OBJECTS:
        return _root_attribute(clause, ".".join(rest), ROOT_ATTRIBUTE_OBJECTS[lowered])
    raise FilterError(
        f"Filter error at position {clause.field_position}: unknown field {clause.field_text!r}. "
        f"Use a traces column ({', '.join(TRACE_COLUMNS)}), span_type, "
        f"span.<{'|'.join(c for c in SPAN_COLUMNS if c != 'type')}>, assessments.<name>, feedback.<name>, "
        "expectations.<name>, metadata.<key> or tags.<key>."
    )


def _column_test(column_sql: str, kind: ValueKind, clause: Clause) -> tuple[str, list[Any]]:
    op = clause.op
    if op == "IS NULL" or op == "IS NOT NULL":
        return f"{column_sql} {op}", []
    if op in ("LIKE", "ILIKE") and kind is not ValueKind.TEXT:
        raise _clause_error(clause, f"{op} works on text fields; {clause.field_text} is a {kind.value}")
    values = [_column_literal(kind, literal, clause) for literal in clause.literals]
    if op == "IN":
        return f"{column_sql} IN ({', '.join('?' * len(values))})", values
    return f"{column_sql} {op} ?", values


def _column_literal(kind: ValueKind, literal: Literal, clause: Clause) -> Any:
    value = literal.value
    if kind is ValueKind.TEXT:
        if not isinstance(value, str):
            raise _literal_error(literal, f"{clause.field_text} is text; write the value in quotes, e.g. '{literal.text}'")
        return value
    if kind is ValueKind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _literal_error(literal, f"{clause.field_text} is a number; compare it with a number such as 100")
        return value
    if not isinstance(value, str):
        raise _literal_error(
            literal, f"{clause.field_text} is a timestamp; write it as a quoted date or time, e.g. '2026-11-01T12:00:00Z'"
        )
    return parse_timestamp(value, literal)


def parse_timestamp(text: str, literal: Literal | None = None) -> dt.datetime:
    """An ISO 8601 date or date-time as an aware UTC datetime (no zone given means UTC)."""
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(cleaned.replace(" ", "T", 1) if len(cleaned) > 10 else cleaned)
    except ValueError:
        message = f"{text!r} is not a date or time; use ISO 8601 such as '2026-11-01' or '2026-11-01T12:00:00Z'"
        if literal is not None:
            raise _literal_error(literal, message) from None
        raise FilterError(message + ".") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def _any_span(clause: Clause, column: str, kind: ValueKind) -> Condition:
    test, params = _column_test(column, kind, clause)
    return Condition(f"t.trace_id IN (SELECT trace_id FROM spans WHERE {test})", params)


# A chat model is a kind of LLM (OpenInference reports both as LLM): `span_type = 'LLM'` finds
# the OpenAI instrumentation's CHAT_MODEL spans too, and `span_type = 'CHAT_MODEL'` only those.
_SPAN_TYPE_FAMILY = "CASE WHEN span_type = 'CHAT_MODEL' THEN 'LLM' END"


def _span_type(clause: Clause) -> Condition:
    test, params = _column_test("span_type", ValueKind.TEXT, clause)
    if clause.op not in ("IS NULL", "IS NOT NULL"):
        family_test, family_params = _column_test(_SPAN_TYPE_FAMILY, ValueKind.TEXT, clause)
        test, params = f"({test}) OR ({family_test})", params + family_params
    return Condition(f"t.trace_id IN (SELECT trace_id FROM spans WHERE {test})", params)


def _assessment(clause: Clause, name: str, assessment_type: str | None) -> Condition:
    if not name:
        raise _clause_error(clause, f"name the assessment after the dot, e.g. {clause.field[0]}.user_feedback")
    scope = "name = ?" + (" AND type = ?" if assessment_type else "")
    scope_params: list[Any] = [name] + ([assessment_type] if assessment_type else [])
    sql, params = _json_value_membership("_current_assessments", scope, scope_params, "value", clause)
    return Condition(sql, params, needs_current_assessments=True)


def _root_attribute(clause: Clause, key: str, object_sql: str) -> Condition:
    if not key or '"' in key or "\\" in key:
        raise _clause_error(clause, f"name a key after the dot, e.g. {clause.field[0]}.channel (no quotes or backslashes)")
    # The JSON object comes from a root span attribute; guard against non-JSON text there.
    value_sql = f"CAST(json_extract(CASE WHEN json_valid({object_sql}) THEN {object_sql} END, ?) AS VARCHAR)"
    path = f'$."{key}"'
    return Condition(*_json_value_membership("spans", "parent_span_id IS NULL", [], value_sql, clause, value_params=[path]))


def _json_value_membership(
    source: str,
    scope_sql: str,
    scope_params: list[Any],
    value_sql: str,
    clause: Clause,
    *,
    value_params: Sequence[Any] = (),
) -> tuple[str, list[Any]]:
    """``t.trace_id [NOT] IN (SELECT trace_id FROM source WHERE scope AND <test of a JSON value>)``."""
    present = f"{value_sql} IS NOT NULL AND {value_sql} <> 'null'"
    present_params = [*value_params, *value_params]
    if clause.op in ("IS NULL", "IS NOT NULL"):
        negate = "NOT " if clause.op == "IS NULL" else ""
        sql = f"t.trace_id {negate}IN (SELECT trace_id FROM {source} WHERE {scope_sql} AND {present})"
        return sql, [*scope_params, *present_params]
    tests: list[str] = []
    params: list[Any] = []
    op = "=" if clause.op == "IN" else clause.op
    for literal in clause.literals:
        test, test_params = _json_value_test(value_sql, op, literal, clause, value_params)
        tests.append(test)
        params.extend(test_params)
    test_sql = tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")"
    sql = f"t.trace_id IN (SELECT trace_id FROM {source} WHERE {scope_sql} AND {test_sql})"
    return sql, [*scope_params, *params]


def _json_value_test(
    value_sql: str, op: str, literal: Literal, clause: Clause, value_params: Sequence[Any]
) -> tuple[str, list[Any]]:
    value = literal.value
    if isinstance(value, bool):
        if op not in ("=", "!="):
            raise _literal_error(literal, f"true/false can only be compared with = or !=, not {op}")
        return f"{value_sql} {op} ?", [*value_params, "true" if value else "false"]
    if isinstance(value, (int, float)):
        if op not in _NUMERIC_OPS:
            raise _literal_error(literal, f"{op} needs a quoted pattern, not a number")
        return f"TRY_CAST({value_sql} AS DOUBLE) {op} ?", [*value_params, float(value)]
    text_sql = f"CASE WHEN json_valid({value_sql}) THEN json_extract_string({value_sql}, '$') ELSE {value_sql} END"
    return f"{text_sql} {op} ?", [*value_params, *value_params, *value_params, value]


def parse_order_by(order_by: str | Sequence[str] | None) -> str:
    """The ORDER BY SQL for ``order_by`` (e.g. ``"start_time DESC"``), whitelisted columns only.

    The default is ``start_time DESC``; ``trace_id`` always breaks ties so pages are stable.
    """
    items = [order_by] if isinstance(order_by, str) else list(order_by or [])
    parts: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise FilterError(f"order_by must be a string such as 'start_time DESC'; got {type(item).__name__}.")
        for piece in (p for p in item.split(",") if p.strip()):
            words = piece.split()
            column = TRACE_COLUMN_ALIASES.get(words[0].lower(), words[0].lower())
            direction = words[1].upper() if len(words) > 1 else "ASC"
            if column not in TRACE_COLUMNS or len(words) > 2 or direction not in ("ASC", "DESC"):
                raise FilterError(
                    f"order_by {piece.strip()!r} is not valid: write a column and optionally ASC or DESC, "
                    f"e.g. 'start_time DESC'; columns: {', '.join(TRACE_COLUMNS)}."
                )
            parts.append(f"t.{column} {direction} NULLS LAST")
    if not parts:
        parts.append("t.start_time DESC NULLS LAST")
    parts.append("t.trace_id ASC")
    return ", ".join(parts)


def _clause_error(clause: Clause, message: str) -> FilterError:
    return FilterError(f"Filter error at position {clause.field_position} ({clause.field_text}): {message}.")


def _literal_error(literal: Literal, message: str) -> FilterError:
    return FilterError(f"Filter error at position {literal.position} ({literal.text}): {message}.")
