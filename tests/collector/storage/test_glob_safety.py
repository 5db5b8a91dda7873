"""Outside engines glob the dataset folders (``read_parquet('spans/*.parquet')``,
``pyarrow.dataset`` on the folder): they must never see a row twice, during a compaction or
after it; and the collector's own readers answer the same before and after compaction."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from otel_feedback_collector.query import trace_rows
from otel_feedback_collector.query.search import find_traces
from otel_feedback_collector.storage import AssessmentRecord, SpanStore
from otel_feedback_collector.storage.moved_files import is_moved_file_error, retry_after_refresh
from folder_globs import duckdb_glob_counts, parquet_names, pyarrow_folder_counts
from otlp_builders import genai_trace, traces_request

# Bounds of the polling reader (it stops earlier, when the writer is done).
_MAX_POLLS = 100_000
_MAX_POLL_SECONDS = 120.0


def _write_round(store: SpanStore, number: int) -> tuple[list[str], int]:
    """One request of three whole traces and two assessments; returns the trace ids and the
    span count."""
    traces = [genai_trace(text=f"round {number} trace {i}", session=f"s{number % 3}") for i in range(3)]
    store.write_traces(traces_request([span for _, spans in traces for span in spans]))
    ids = [trace_id.hex() for trace_id, _ in traces]
    store.write_assessments(
        [
            AssessmentRecord(trace_id=ids[0], name="user_feedback", value=number % 2 == 0),
            AssessmentRecord(trace_id=ids[1], name="accuracy_score", value=number / 10),
        ]
    )
    return ids, sum(len(spans) for _, spans in traces)


class _GlobPoller(threading.Thread):
    """Globs the span, summary and assessment folders in a tight, bounded loop."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(daemon=True)
        self.data_dir = data_dir
        self.stop = threading.Event()
        self.seen: list[tuple[str, int, int]] = []  # (reader, rows, distinct keys)
        self.missed = 0  # a file left between listing and opening: fewer rows, retried
        self.errors: list[BaseException] = []

    def run(self) -> None:
        readers = [
            ("duckdb spans", lambda: duckdb_glob_counts(self.data_dir, "spans")),
            ("duckdb assessments", lambda: duckdb_glob_counts(self.data_dir, "assessments")),
            ("duckdb trace_summaries", lambda: duckdb_glob_counts(self.data_dir, "trace_summaries")),
            ("pyarrow spans", lambda: pyarrow_folder_counts(self.data_dir, "spans")),
            ("pyarrow assessments", lambda: pyarrow_folder_counts(self.data_dir, "assessments")),
        ]
        deadline = time.monotonic() + _MAX_POLL_SECONDS
        for _ in range(_MAX_POLLS):
            if self.stop.is_set() or time.monotonic() > deadline:
                return
            for name, read in readers:
                try:
                    rows, distinct = read()
                except Exception as error:  # noqa: BLE001 - sorted below
                    if is_moved_file_error(error):
                        self.missed += 1
                    else:
                        self.errors.append(error)
                    continue
                self.seen.append((name, rows, distinct))


def test_a_glob_never_sees_a_row_twice_while_the_store_ingests_and_compacts(data_dir: Path) -> None:
    # Retired files stay for an hour: before they left the folder, a glob counted them twice.
    store = SpanStore(
        data_dir,
        flush_interval=0.05,
        compaction_fan_in=2,
        compaction_interval=0.05,
        retired_file_grace=3600,
    )
    store.open()
    poller = _GlobPoller(data_dir)
    poller.start()
    spans = traces = 0
    try:
        for number in range(40):
            ids, count = _write_round(store, number)
            spans += count
            traces += len(ids)
            store.flush()
            if number % 10 == 9:
                store.compact(full=True)  # level-1 files are merged again only by a full one
    finally:
        poller.stop.set()
        poller.join()
    try:
        store.flush()
        store.compact(full=True)
        assert poller.errors == []
        assert poller.seen, "the poller read nothing"
        duplicated = [seen for seen in poller.seen if seen[1] != seen[2]]
        assert duplicated == []
        assert max(rows for name, rows, _ in poller.seen if name == "duckdb spans") > 0
        manifest = json.loads((data_dir / "manifest.json").read_text())
        assert len(manifest["retired"]) > 20  # compactions did happen while it polled
        # Once compacted, every glob counts exactly what was written.
        assert duckdb_glob_counts(data_dir, "spans") == (spans, spans)
        assert pyarrow_folder_counts(data_dir, "spans") == (spans, spans)
        assert duckdb_glob_counts(data_dir, "trace_summaries") == (traces, traces)
        assert duckdb_glob_counts(data_dir, "assessments") == (80, 80)
        assert pyarrow_folder_counts(data_dir, "assessments") == (80, 80)
        # The retired inputs are kept (grace period) but out of the globbed folders.
        assert all("/_retired/" in entry["path"] for entry in manifest["retired"])
        assert all((data_dir / entry["path"]).is_file() for entry in manifest["retired"])
        live = {f["path"].split("/", 1)[1] for f in manifest["datasets"]["spans"]}
        assert set(parquet_names(data_dir, "spans")) == live
    finally:
        store.close()


_SEARCHES = [
    {},
    {"filter": "assessments.user_feedback = false"},
    {"filter": "span_type = 'LLM'", "order_by": "start_time ASC"},
    {"filter": "session_id = 's1'"},
    {"max_results": 4},
]


def _search_all(store: SpanStore) -> list[list[dict]]:
    connection = store.connect()
    answers = []
    for options in _SEARCHES:
        page = find_traces(connection, **options)
        rows = list(page.rows)
        while page.next_page_token is not None:
            page = find_traces(connection, page_token=page.next_page_token, **options)
            rows.extend(page.rows)
        answers.append(rows)
    return answers


def test_search_results_are_identical_before_and_after_compaction(data_dir: Path) -> None:
    with SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=3) as store:
        for number in range(7):
            _write_round(store, number)
            store.flush()  # seven runs; the background compactor merges whole levels
        store.compact()
        store.flush()
        before = _search_all(store)
        assert len(before[0]) == 21 and 0 < len(before[1]) < 21  # the filters filter
        store.compact(full=True)
        live = json.loads((data_dir / "manifest.json").read_text())["datasets"]["spans"]
        assert {f["run"] for f in live} == {live[0]["run"]}  # one run now
        assert _search_all(store) == before


def test_a_lookup_answers_right_after_a_flush_and_after_a_compaction(data_dir: Path) -> None:
    with SpanStore(data_dir, flush_interval=0.2, compaction_fan_in=1000) as store:
        _write_round(store, 0)
        store.flush()
        ids, _ = _write_round(store, 1)
        store.flush()
        reader = store.connect()
        rows = trace_rows(reader, [ids[0]])
        assert [(row["trace_id"], row["span_count"]) for row in rows] == [(ids[0], 3)]
        query = "SELECT count(*) FROM spans WHERE trace_id = ?"
        assert reader.execute(query, [ids[0]]).fetchone() == (3,)

        store.compact(full=True)
        connection = [reader]  # its snapshot names files compaction moved into _retired/

        def refresh() -> None:
            connection[0] = store.connect()

        assert retry_after_refresh(
            lambda: connection[0].execute(query, [ids[0]]).fetchone(), refresh
        ) == (3,)
        assert connection[0] is not reader
        assert trace_rows(store.connect(), [ids[0]]) == rows
        assert duckdb_glob_counts(data_dir, "spans") == (18, 18)


def test_retired_files_an_older_version_left_in_the_folder_move_into_retired(data_dir: Path) -> None:
    with SpanStore(data_dir, compaction_fan_in=1000, retired_file_grace=3600) as store:
        for number in range(3):
            _write_round(store, number)
            store.flush()
        store.compact(full=True)
    # Lay the directory out as a version without _retired/ left it: retired files beside
    # the live ones, listed at that path.
    manifest_path = data_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest["retired"]:
        old = entry["path"].replace("/_retired/", "/")
        os.replace(data_dir / entry["path"], data_dir / old)
        entry["path"] = old
    manifest_path.write_text(json.dumps(manifest))
    assert duckdb_glob_counts(data_dir, "spans") == (54, 27)  # what a glob used to see

    with SpanStore(data_dir, compaction_fan_in=1000, retired_file_grace=3600) as store:
        assert duckdb_glob_counts(data_dir, "spans") == (27, 27)
        assert duckdb_glob_counts(data_dir, "assessments") == (6, 6)
        assert store.connect().execute("SELECT count(*) FROM spans").fetchone() == (27,)
    retired = json.loads(manifest_path.read_text())["retired"]
    assert len(retired) == len(manifest["retired"])
    assert all("/_retired/" in entry["path"] and (data_dir / entry["path"]).is_file() for entry in retired)
