"""Each span file's trace numbers (file_traces.py): a one-trace read opens only the files that
hold the trace, and sees new files after a flush and after a compaction swaps them."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from otel_feedback_collector.api.queries import trace_spans
from otel_feedback_collector.query.search import one_trace_spans
from otel_feedback_collector.storage import SpanStore
from otel_feedback_collector.storage import file_traces
from otel_feedback_collector.storage.file_traces import may_hold, trace_number
from otlp_builders import make_span, traces_request
from read_scenario import chain


def _write(path: Path, trace_ids: list[str]) -> None:
    pq.write_table(pa.table({"trace_id": trace_ids}), path)


def _warmed(paths: list[Path]) -> None:
    file_traces.warm(paths)
    assert file_traces.wait_warmed(60)


def test_a_file_may_hold_exactly_the_numbers_of_its_trace_ids(tmp_path: Path) -> None:
    path = tmp_path / "spans.parquet"
    held = ["0" * 31 + "1", "ab" * 16, "ff" * 16]
    _write(path, held + held[:1])
    assert may_hold(path, trace_number("ac" * 16))  # not known yet: read the file
    _warmed([path])
    for trace_id in held:
        assert may_hold(path, trace_number(trace_id))
    assert not may_hold(path, trace_number("0" * 14 + "1" + "0" * 17))
    assert not may_hold(path, trace_number("ac" * 16))
    # Only the first 15 digits count: an id that shares them may be in the file.
    assert may_hold(path, trace_number("ab" * 7 + "a" + "0" * 17))


def test_a_replaced_or_unreadable_file_is_read_again_or_always_read(tmp_path: Path) -> None:
    path = tmp_path / "spans.parquet"
    _write(path, ["ab" * 16])
    _warmed([path])
    assert not may_hold(path, trace_number("cd" * 16))
    _write(path, ["cd" * 16, "ef" * 16])  # a new version under the same name
    assert may_hold(path, trace_number("cd" * 16))  # the old version's numbers do not count
    _warmed([path])
    assert may_hold(path, trace_number("cd" * 16)) and not may_hold(path, trace_number("ab" * 16))
    path.write_bytes(b"not parquet")
    _warmed([path])
    assert may_hold(path, trace_number("ab" * 16))
    assert may_hold(tmp_path / "missing.parquet", trace_number("ab" * 16))


def test_ids_that_are_not_hex_have_no_number() -> None:
    assert trace_number("ab" * 16) == int("ab" * 7 + "a", 16)
    assert trace_number("not-a-hex-trace-id") is None
    assert trace_number("") is None


def _span_ids(store: SpanStore, trace_id: str) -> tuple[list[str], list[str]]:
    """The trace's span ids as the trace page reads them, and the files it opened (once the
    numbers of the live files are known)."""
    with store.reading():  # a new manifest starts warming
        pass
    assert file_traces.wait_warmed(60)
    with store.reading() as connection:
        spans = [row["span_id"] for row in trace_spans(connection, trace_id)]
        source = one_trace_spans(connection, trace_id)[0]
    return spans, [name for name in os.listdir(store.data_dir / "spans") if name in source]


def test_a_lookup_opens_the_files_of_its_trace_and_sees_flushes_and_compactions(store: SpanStore) -> None:
    # The second flush's trace ids are below and above the first's: its file's trace-id range
    # holds the first trace's id, only its trace numbers tell it does not hold the trace.
    first, below, above = (bytes.fromhex(digits * 16) for digits in ("55", "11", "99"))
    root, children = chain(first, step=1, text="first")
    store.write_traces(traces_request([root]))
    store.flush()
    store.write_traces(traces_request([*chain(below, step=2, text="below")[1], *chain(above, step=3, text="above")[1]]))
    store.flush()
    spans, opened = _span_ids(store, first.hex())
    assert spans == [root.span_id.hex()]
    assert len(opened) == 1 and len(os.listdir(store.data_dir / "spans")) == 2  # the other file left out

    # The rest of the trace arrives in a new file: read right after the flush.
    store.write_traces(traces_request(children))
    store.flush()
    expected = sorted([root.span_id.hex(), *(child.span_id.hex() for child in children)])
    spans, opened = _span_ids(store, first.hex())
    assert sorted(spans) == expected and len(opened) == 2

    # A compaction swaps the files for one merged file: the lookup reads that one.
    assert store.compact(full=True) > 0
    spans, opened = _span_ids(store, first.hex())
    assert sorted(spans) == expected and len(opened) == 1

    # And a trace flushed after the compaction is found in its new file.
    late = make_span(trace_id=os.urandom(16), name="late")
    store.write_traces(traces_request([late]))
    store.flush()
    assert _span_ids(store, late.trace_id.hex())[0] == [late.span_id.hex()]


def _known(path: Path) -> bool:
    return str(path) in file_traces._numbers._known


def test_warming_reads_new_files_ahead_and_forgets_retired_ones(tmp_path: Path) -> None:
    old, new = tmp_path / "old.parquet", tmp_path / "new.parquet"
    _write(old, ["ab" * 16])
    _write(new, ["cd" * 16])
    _warmed([old])
    assert _known(old) and not _known(new)
    _warmed([new])  # a compaction replaced old with new
    assert _known(new) and not _known(old)


def test_after_stopping_no_read_runs_and_warming_starts_again(tmp_path: Path) -> None:
    paths = [tmp_path / f"spans-{number}.parquet" for number in range(20)]
    for number, path in enumerate(paths):
        _write(path, [f"{number:032x}"])
    file_traces.warm(paths)
    file_traces.stop_warming()
    assert file_traces.wait_warmed(0)  # a closing store leaves no read of ours running
    _warmed(paths)
    assert all(_known(path) for path in paths)


def test_learning_a_file_never_spills_into_the_working_directory() -> None:
    # An in-memory DuckDB spills into ``.tmp`` under the working directory by default (wherever
    # the collector was started); the database for trace numbers has no spill directory.
    connection = file_traces._connection()
    assert connection.execute("SELECT current_setting('temp_directory')").fetchone() == ("",)


def test_a_reopened_store_learns_its_files_before_any_read(tmp_path: Path) -> None:
    # Learning only at the first read left a restarted collector reading every file on its
    # first lookups, and one that receives nothing new never learned them at all.
    data_dir = tmp_path / "data"
    with SpanStore(data_dir, compaction_fan_in=1000) as store:
        for number in range(3):
            root, spans = chain(bytes([number + 1]) * 16, step=number, text=f"t{number}")
            store.write_traces(traces_request([root, *spans]))
            store.flush()
    file_traces.stop_warming()
    with SpanStore(data_dir, compaction_fan_in=1000) as store:
        assert file_traces.wait_warmed(60)
        live = [data_dir / f.path for f in store._manifest.files["spans"]]
        assert len(live) == 3 and all(_known(path) for path in live)
