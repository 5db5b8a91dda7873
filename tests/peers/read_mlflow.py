"""Talk to an MLflow tracking server through MLflow's own Python client; print JSON.

Runs inside the MLflow virtualenv:

- ``python read_mlflow.py experiment TRACKING_URI NAME`` creates an experiment and prints
  ``{"experiment_id": ...}`` (the OTLP endpoint files spans by the ``x-mlflow-experiment-id``
  header).
- ``python read_mlflow.py trace TRACKING_URI EXPERIMENT_ID OTEL_TRACE_ID`` prints the trace that
  came from that OpenTelemetry trace id, as ``MlflowClient().search_traces`` / ``get_trace`` have
  it: ``{"info": {...}, "spans": [...]}`` (each span's name, ``span_type``, parent, times,
  inputs, outputs and attributes), or ``{"info": null, "spans": []}`` while it is not there.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from mlflow import MlflowClient


def create_experiment(client: MlflowClient, name: str) -> dict[str, Any]:
    return {"experiment_id": client.create_experiment(name)}


def find_trace(client: MlflowClient, experiment_id: str, otel_trace_id: str) -> dict[str, Any]:
    for found in client.search_traces(locations=[experiment_id], max_results=100):
        if otel_trace_id in found.info.trace_id:
            trace = client.get_trace(found.info.trace_id)
            return {"info": trace.info.to_dict(), "spans": [span_view(span) for span in trace.data.spans]}
    return {"info": None, "spans": []}


def span_view(span: Any) -> dict[str, Any]:
    return {
        "name": span.name,
        "span_type": span.span_type,
        "span_id": span.span_id,
        "parent_id": span.parent_id,
        "start_time_ns": span.start_time_ns,
        "end_time_ns": span.end_time_ns,
        "inputs": span.inputs,
        "outputs": span.outputs,
        "attributes": span.attributes,
    }


def main(argv: list[str]) -> None:
    command, tracking_uri, *rest = argv
    client = MlflowClient(tracking_uri=tracking_uri)
    if command == "experiment":
        result = create_experiment(client, rest[0])
    elif command == "trace":
        result = find_trace(client, rest[0], rest[1])
    else:
        raise SystemExit(f"unknown command {command!r}; use 'experiment' or 'trace'")
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
