"""The bulk ingest path keeps every span: requests logged as received reach Parquet exactly
once, over several conversion chunks, and background merges take whole runs within their fan-in."""

from __future__ import annotations

from pathlib import Path

from otel_feedback_collector.otlp.synthetic import genai_trace_request
from otel_feedback_collector.storage import SpanStore
from otel_feedback_collector.storage.manifest import DataFile
from otel_feedback_collector.storage.store import _files_to_merge


def test_a_flush_of_n_requests_as_received_stores_exactly_n_times_the_spans(data_dir: Path) -> None:
    requests = [genai_trace_request(100, texts=[f"text {i} " * 150 for i in range(n, n + 200)]) for n in range(12)]
    with SpanStore(data_dir, flush_interval=3600, compaction_fan_in=1000) as store:
        for request in requests:  # about 5.5 MB: more than one conversion chunk
            assert store.write_traces(request, serialized=request.SerializeToString()) == 300
        store.flush()
        connection = store.connect()
        count, keys = connection.execute(
            "SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM spans"
        ).fetchone()
        assert (count, keys) == (12 * 300, 12 * 300)
        llm = requests[7].resource_spans[0].scope_spans[0].spans[2]
        stored = connection.execute(
            "SELECT input, output, input_preview FROM spans WHERE trace_id = ? AND span_id = ?",
            [llm.trace_id.hex(), llm.span_id.hex()],
        ).fetchone()
    sent = {kv.key: kv.value.string_value for kv in llm.attributes}
    assert stored == (sent["input.value"], sent["output.value"], sent["input.value"][: len(stored[2])])
    assert len(stored[2]) < len(stored[0])


def _flushed(run: int, files: int) -> list[DataFile]:
    return [DataFile(path=f"spans/spans-L0-{run}-{i}.parquet", rows=1, level=0, run=run) for i in range(files)]


def test_a_background_merge_takes_whole_runs_up_to_its_fan_in() -> None:
    live = [f for run in range(10) for f in _flushed(run, 4)]  # 40 flushed files, 4 per run
    chosen, level = _files_to_merge(live, fan_in=8, max_inputs=16)
    assert level == 1
    assert [f.run for f in chosen] == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4  # oldest runs first


def test_a_run_larger_than_the_fan_in_is_still_merged_whole() -> None:
    live = _flushed(1, 20) + _flushed(2, 2)
    chosen, _ = _files_to_merge(live, fan_in=8, max_inputs=16)
    assert chosen == _flushed(1, 20)
    assert _files_to_merge(_flushed(1, 3), fan_in=8, max_inputs=16) == ([], 0)
