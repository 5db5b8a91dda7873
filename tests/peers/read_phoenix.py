"""Print what Phoenix shows for one trace, as JSON, read through Phoenix's own Python client.

Runs inside the Phoenix virtualenv: ``python read_phoenix.py BASE_URL TRACE_ID``. Prints
``{"spans": [...], "traces": [...]}``: each span as the spans dataframe of
``phoenix.client.Client().spans.get_spans_dataframe`` has it (``span_kind``, ``name``,
``attributes.*`` columns, times as ISO text), and the trace as ``traces.get_traces`` has it (its
start and end, which are what the UI shows as the trace's latency).
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from phoenix.client import Client

PROJECT = "default"


def plain(value: Any) -> Any:
    """A value from the dataframe or the API as JSON (timestamps as ISO text, NaN as None)."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "tolist"):
        return plain(value.tolist())
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def main(base_url: str, trace_id: str) -> None:
    client = Client(base_url=base_url)
    try:
        frame = client.spans.get_spans_dataframe(project_identifier=PROJECT, limit=1000)
    except Exception as error:  # no project yet means no spans yet
        print(json.dumps({"spans": [], "traces": [], "error": repr(error)}))
        return
    spans = []
    if len(frame):
        mine = frame[frame["context.trace_id"] == trace_id]
        spans = [{str(key): plain(value) for key, value in row.items()} for row in mine.to_dict(orient="records")]
    traces = [
        plain(dict(item))
        for item in client.traces.get_traces(project_identifier=PROJECT, limit=100)
        if dict(item).get("trace_id") == trace_id
    ]
    print(json.dumps({"spans": spans, "traces": traces}, default=str))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
