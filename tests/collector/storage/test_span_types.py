"""The span types of the live files, read once per file (span_types.py): a new flush's types
appear, a compaction keeps them, and the answer equals a scan of every span."""

from __future__ import annotations

from pathlib import Path

from otel_feedback_collector.storage import SpanStore
from otel_feedback_collector.storage.span_types import live_span_types
from otlp_builders import make_span, new_trace_id, traces_request


def _scan(store: SpanStore) -> list[str]:
    rows = store.connect().execute("SELECT DISTINCT span_type FROM spans WHERE span_type IS NOT NULL").fetchall()
    return sorted(row[0] for row in rows)


def _span_of_type(kind: str):
    return make_span(trace_id=new_trace_id(), name=kind.lower(), attributes={"openinference.span.kind": kind})


def test_span_types_follow_flushes_and_compaction(store: SpanStore) -> None:
    store.write_traces(traces_request([_span_of_type("LLM"), _span_of_type("CHAIN")]))
    store.flush()
    with store.reading() as connection:
        assert live_span_types(connection) == ["CHAIN", "LLM"] == _scan(store)
    store.write_traces(traces_request([_span_of_type("RETRIEVER"), make_span(trace_id=new_trace_id(), name="plain")]))
    store.flush()
    with store.reading() as connection:
        assert live_span_types(connection) == ["CHAIN", "LLM", "RETRIEVER", "UNKNOWN"] == _scan(store)
    store.compact(full=True)
    with store.reading() as connection:
        assert live_span_types(connection) == ["CHAIN", "LLM", "RETRIEVER", "UNKNOWN"] == _scan(store)


def test_an_older_directory_that_deduplicates_is_scanned(data_dir: Path) -> None:
    span = _span_of_type("TOOL")
    with SpanStore(data_dir, compaction_fan_in=1000) as store:
        store.write_traces(traces_request([span]))
        store.flush()
        store.write_traces(traces_request([span, _span_of_type("AGENT")]))
        store.flush()
    manifest = data_dir / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"disjoint_spans": true', '"disjoint_spans": false'))
    from otel_feedback_collector.storage.views import connect

    connection = connect(data_dir)
    assert live_span_types(connection) == ["AGENT", "TOOL"]
