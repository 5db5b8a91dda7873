"""Which assessments are current, as SQL over an assessment log (one row per event).

The ``assessments`` view: the create and override events that no later override or delete
replaced. Per trace and name, the *current value* is the newest of those (what search filters
and the trace lists show). The collector keeps the current values in a table of its trace index
(trace_index.py), refreshed for the traces each flush touches; the Parquet-only views compute
them per query. Both use these functions, so they cannot drift apart.
"""

from __future__ import annotations


def live_assessments_sql(log: str) -> str:
    """SQL for the assessments of ``log`` (a table or view name) that are in force."""
    return f"""
        SELECT * FROM {log} AS a
        WHERE a.action IN ('create', 'override')
          AND NOT EXISTS (
            SELECT 1 FROM {log} AS b
            WHERE b.overrides = a.assessment_id AND b.action IN ('override', 'delete')
          )"""


def current_values_sql(assessments: str) -> str:
    """SQL for ``(trace_id, name, type, value)``: per trace and name, the newest of
    ``assessments`` (a table, view or parenthesised query of assessments in force)."""
    return f"""
        SELECT trace_id, name, type, value FROM {assessments}
        QUALIFY row_number() OVER (
            PARTITION BY trace_id, name ORDER BY created_time_unix_nano DESC, assessment_id DESC
        ) = 1"""


__all__ = ["current_values_sql", "live_assessments_sql"]
