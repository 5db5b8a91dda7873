"""Size-tiered compaction: the live file count stays small as flushes add up (each level
holds fewer than ``fan_in`` runs), every span is kept once, and runs of several files are
merged as one sorted stream each."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from otel_feedback_collector.storage import SpanStore
from otel_feedback_collector.storage.datasets import (
    data_file_name,
    merge_span_files,
    pending_file,
    sorted_streams,
)
from otel_feedback_collector.storage.manifest import DataFile
from otel_feedback_collector.storage.store import _files_to_merge
from otel_feedback_collector.storage.trace_summaries import SummaryCalculator
from otlp_builders import genai_trace, traces_request


def _manifest(data_dir: Path) -> dict:
    return json.loads((data_dir / "manifest.json").read_text())


def _compact_until_settled(store: SpanStore) -> None:
    while store.compact():
        pass


def test_the_live_file_count_stays_bounded_over_many_flushes(data_dir: Path) -> None:
    fan_in, flushes = 3, 40
    counts = []
    with SpanStore(data_dir, flush_interval=0.1, compaction_fan_in=fan_in) as store:
        for _ in range(flushes):
            store.write_traces(traces_request(genai_trace()[1]))
            store.flush()
            _compact_until_settled(store)
            counts.append(len(_manifest(data_dir)["datasets"]["spans"]))
        rows = store.connect().execute(
            "SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM spans"
        ).fetchone()
        traces = store.connect().execute("SELECT count(*), sum(span_count) FROM traces").fetchone()
    manifest = _manifest(data_dir)
    levels = {f["level"] for f in manifest["datasets"]["spans"]}
    # Fewer than fan_in runs (of one file each, at this size) per level, over a few levels:
    # with merges only into level 1, forty flushes left thirteen level-1 files.
    top = math.ceil(math.log(flushes, fan_in))
    assert max(counts) <= (fan_in - 1) * (top + 1), counts
    assert max(levels) >= 3
    assert max(levels) <= top + 1
    assert rows == (flushes * 3, flushes * 3)
    assert traces == (flushes, flushes * 3)
    # A run's summaries are replaced together with its span files.
    span_runs = {f["run"] for f in manifest["datasets"]["spans"]}
    assert {f["run"] for f in manifest["datasets"]["trace_summaries"]} == span_runs
    assert manifest["disjoint_spans"] is True


def _runs(levels: dict[int, int]) -> list[DataFile]:
    """``{level: runs}`` as live files (one per run), run numbers in creation order."""
    numbers = itertools.count(1)
    return [
        DataFile(path=f"spans/spans-L{level}-{number}.parquet", rows=1, level=level, run=number)
        for level, runs in levels.items()
        for number in [next(numbers) for _ in range(runs)]
    ]


def test_the_fullest_level_is_merged_first_into_the_next() -> None:
    live = _runs({1: 2, 2: 4, 3: 4})
    chosen, level = _files_to_merge(live, fan_in=4)
    assert level == 3 and {f.level for f in chosen} == {2} and len(chosen) == 4  # a tie: the lower
    # A writer that is behind keeps level 0 full; a fuller level above still gets its turn.
    chosen, level = _files_to_merge(_runs({0: 9, 1: 12}), fan_in=4)
    assert level == 2 and {f.level for f in chosen} == {1}
    chosen, level = _files_to_merge(_runs({0: 20, 1: 12}), fan_in=4)
    assert level == 1 and {f.level for f in chosen} == {0}
    assert _files_to_merge(_runs({0: 3, 1: 3, 2: 3}), fan_in=4) == ([], 0)
    chosen, level = _files_to_merge(_runs({1: 6}), fan_in=4, max_inputs=5)
    assert level == 2 and [f.run for f in chosen] == [1, 2, 3, 4, 5]  # the oldest, up to the fan-in


def test_a_merge_reads_at_most_max_bytes_and_larger_runs_are_final() -> None:
    """A bounded merge (so level 0 never waits minutes behind one merge): runs larger than
    ``max_bytes / fan_in`` are not merged again and do not count towards their level's
    fan-in; the smaller runs of the level still are, and never more than ``max_bytes``."""
    big = {run: 150 for run in range(1, 17)}  # sixteen runs at level 2, each past 400 / 4
    live = _runs({2: 16, 1: 5, 0: 12})
    sizes = {f.path: big.get(f.run, 10) for f in live}

    def size(data_file: DataFile) -> int:
        return sizes[data_file.path]

    # Without the bound the sixteen large runs would be merged (the fullest level, 16/4).
    chosen, level = _files_to_merge(live, fan_in=4, size=lambda f: 0)
    assert level == 3 and {f.run for f in chosen} == set(range(1, 17))
    # With it, they are final: level 0 (three times its fan-in) goes first...
    chosen, level = _files_to_merge(live, fan_in=4, max_bytes=400, size=size)
    assert level == 1 and {f.level for f in chosen} == {0} and len(chosen) == 12
    # ... and once it is drained, the five small level-1 runs, the oldest four within 400 bytes.
    rest = [f for f in live if f.level != 0]
    chosen, level = _files_to_merge(rest, fan_in=4, max_bytes=40, size=size)
    assert level == 2 and [f.run for f in chosen] == [17, 18, 19, 20]
    # A level holding only final runs is never chosen, however many it holds.
    assert _files_to_merge([f for f in live if f.level == 2], fan_in=4, max_bytes=400, size=size) == ([], 0)


def _merge(data_dir: Path, scratch: Path, streams: list[list[str]], *, run: int, file_bytes: int) -> list[DataFile]:
    numbers = itertools.count(run * 100)
    summaries = SummaryCalculator()
    try:
        merged, _ = merge_span_files(
            summaries,
            inputs=streams,
            data_dir=data_dir,
            relative_paths=lambda layout: data_file_name(layout, level=1, number=next(numbers)),
            level=1,
            run=run,
            row_group_size=16384,
            row_group_bytes=4096,
            file_bytes=file_bytes,
            input_budget_bytes=4096,
            scratch_dir=scratch,
        )
    finally:
        summaries.close()
    for data_file in merged:  # as the swap would: the pending outputs under their names
        pending_file(data_dir, data_file.path).rename(data_dir / data_file.path)
    return merged


def test_runs_of_several_files_are_merged_as_one_stream_each(data_dir: Path, tmp_path: Path) -> None:
    with SpanStore(data_dir, compaction_fan_in=1000) as store:
        for _ in range(4):
            store.write_traces(traces_request([span for _ in range(30) for span in genai_trace()[1]]))
            store.flush()
        expected = store.connect().execute("SELECT trace_id, span_id, name FROM spans ORDER BY ALL").fetchall()
    flushed = [f["path"] for f in _manifest(data_dir)["datasets"]["spans"]]
    # Two runs of many small files each (disjoint trace-id ranges within a run).
    first = _merge(data_dir, tmp_path, [[p] for p in flushed[:2]], run=7, file_bytes=1)
    second = _merge(data_dir, tmp_path, [[p] for p in flushed[2:]], run=8, file_bytes=1)
    assert len(first) >= 2 and len(second) >= 2
    shuffled = [*reversed(first), *second]
    streams = sorted_streams(data_dir, shuffled)
    assert streams == [[f.path for f in first], [f.path for f in second]]  # in trace-id order
    # Files of a run that are not disjoint (a flush's chunk files) stay separate inputs.
    chunks = [DataFile(path=p, rows=1, level=0, run=1) for p in flushed]
    assert sorted_streams(data_dir, chunks) == [[p] for p in flushed]
    merged = _merge(data_dir, tmp_path, streams, run=9, file_bytes=1 << 30)
    assert len(merged) == 1
    path = data_dir / merged[0].path
    rows = duckdb.sql(f"SELECT trace_id, span_id, name FROM read_parquet('{path}') ORDER BY ALL").fetchall()
    assert rows == expected
    ids = pq.read_table(path, columns=["trace_id"]).column(0).to_pylist()
    assert ids == sorted(ids)


def _dictionary_encoded(path: Path) -> dict[str, bool]:
    """Per column of a Parquet file: whether its first row group has dictionary pages."""
    row_group = pq.ParquetFile(path).metadata.row_group(0)
    return {
        row_group.column(i).path_in_schema: row_group.column(i).has_dictionary_page
        for i in range(row_group.num_columns)
    }


def test_span_files_write_the_wide_texts_without_a_dictionary(data_dir: Path) -> None:
    """Flushed and merged span files alike: inputs, outputs and attributes are nearly always
    unique, so a dictionary only costs a reader memory; the small columns keep theirs."""
    with SpanStore(data_dir, compaction_fan_in=1000) as store:
        for _ in range(2):
            store.write_traces(traces_request(genai_trace()[1]))
            store.flush()
        flushed = [data_dir / f["path"] for f in _manifest(data_dir)["datasets"]["spans"]]
        assert store.compact(full=True) == 2
        merged = [data_dir / f["path"] for f in _manifest(data_dir)["datasets"]["spans"]]
    for path in [*flushed[:1], *merged]:
        if not path.exists():  # the flushed file moved to _retired/ with the merge
            path = path.parent / "_retired" / path.name
        encoded = _dictionary_encoded(path)
        for column in ("input", "output", "attributes"):
            assert encoded[column] is False, (path.name, column)
        for column in ("span_type", "service_name", "name"):
            assert encoded[column] is True, (path.name, column)
